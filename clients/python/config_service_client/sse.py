"""Server-Sent Events parsing (the WHATWG event-stream format), line by line, without I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Event:
    event: str = "message"
    data: str = ""
    id: str | None = None


class Decoder:
    """Feed it lines (without their line break); it returns an `Event` at each blank line."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self.last_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        if self._id is not None:
            self.last_id = self._id
        if not self._data and self._event is None:
            self._id = None
            return None
        event = Event(event=self._event or "message", data="\n".join(self._data), id=self._id)
        self._event, self._data, self._id = None, [], None
        return event
