// Live config over Server-Sent Events, read with fetch streaming: the browser's EventSource
// cannot send an Authorization header, and the service refuses a token in a URL.

import { API, authHeaders } from "./api.js";

/** Split an SSE byte stream (already text) into events, per the WHATWG event-stream rules. */
export class EventParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    // A line ends at CRLF, LF or CR; a CR at the very end may be the first half of a CRLF.
    const pattern = /\r\n|\n|\r(?!$)/;
    let match;
    while ((match = pattern.exec(this.buffer)) !== null) {
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      this.reset();
      return;
    }
    if (line.startsWith(":")) return; // keep-alive comment
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
  }
}

/**
 * Follow `path` (an SSE route under /api/v1) until `signal` aborts. `onConfig` gets each
 * `config` event's data; `onStatus` gets "live", "reconnecting" or a closing reason
 * ("revoked", "gone", "refused"). Reconnects with Last-Event-ID, backing off to 15 s.
 */
export function watch(path, { onConfig, onStatus, signal }) {
  let lastEventId = null;
  let delay = 1000;

  const run = async () => {
    while (!signal.aborted) {
      let closing = null;
      try {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch(API + path, { headers, signal, cache: "no-store" });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          onStatus("refused");
          return;
        }
        if (!response.ok || !response.body) throw new Error(`watch answered ${response.status}`);
        onStatus("live");
        delay = 1000;
        const parser = new EventParser(({ event, data, id }) => {
          if (event === "config") {
            if (id) lastEventId = id;
            onConfig(JSON.parse(data));
          } else if (event === "revoked" || event === "gone") {
            closing = event;
          }
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done || closing) break;
          parser.push(value);
          if (closing) break;
        }
        reader.cancel().catch(() => {});
      } catch (error) {
        if (signal.aborted) return;
      }
      if (closing) {
        onStatus(closing);
        return;
      }
      if (signal.aborted) return;
      onStatus("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  run();
}
