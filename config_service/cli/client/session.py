"""Global options, credentials and the target node of a client command.

`--url` / `CONFIG_SERVICE_URL`, `--token` / `CONFIG_SERVICE_TOKEN`, `--profile` /
`CONFIG_SERVICE_PROFILE` and `--insecure` are read by the root callback (and may be written
anywhere on the command line: `hoist` moves them to the front before click parses).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import typer

from config_service.cli.client import profiles
from config_service.cli.client.errors import CliError
from config_service_client import Client

DEFAULT_URL = "http://127.0.0.1:8080"
VALUED = ("--url", "--token", "--profile")
FLAGS = ("--insecure",)


def hoist(argv: list[str]) -> list[str]:
    """Move the global options to the front, wherever they were written (before a `--`)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if name in VALUED and "=" in arg:
            front.append(arg)
        elif arg in VALUED and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 1
        elif arg in FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


@dataclass(frozen=True)
class Target:
    """The node a command acts on: the token's own (`/config/me…`) or an admin's named node."""

    org_id: str | None = None
    node_id: str | None = None

    @property
    def is_me(self) -> bool:
        return self.node_id is None

    def label(self) -> str:
        return "your node" if self.is_me else f"{self.org_id}/{self.node_id}"


@dataclass
class Session:
    url_option: str | None
    url_source: object | None
    token_option: str | None
    token_source: object | None
    profile_name: str | None
    insecure: bool
    _client: Client | None = field(default=None, repr=False)
    _resolved: tuple[str, str | None] | None = field(default=None, repr=False)

    @property
    def token_from_command_line(self) -> bool:
        return self.token_option is not None and _from_command_line(self.token_source)

    def profile(self, *, required: bool = True) -> profiles.Profile | None:
        name = profiles.check_name(self.profile_name or "default")
        found = profiles.load().get(name)
        if found is None and self.profile_name and required:
            raise CliError(f"no profile '{name}' in {profiles.config_file()}; create it with "
                           f"`config-service login --profile {name}`")
        return found

    def url(self) -> str:
        """The service URL without any token (what `login` talks to)."""
        if self.url_option and _from_command_line(self.url_source):
            return self.url_option
        profile = self.profile(required=False) if self.profile_name else None
        if profile is not None:
            return profile.url
        if self.url_option:
            return self.url_option
        profile = self.profile(required=False)
        return profile.url if profile is not None else DEFAULT_URL

    def resolve(self) -> tuple[str, str | None]:
        """(url, token): the command line first, then a named profile, then the environment,
        then the default profile. A profile's token is only ever sent to that profile's URL."""
        if self._resolved is not None:
            return self._resolved
        url = self.url().rstrip("/")
        token: str | None = None
        from_profile: profiles.Profile | None = None
        if self.token_option and (_from_command_line(self.token_source) or not self.profile_name):
            token = self.token_option
        else:
            from_profile = self.profile()
            token = from_profile.token if from_profile is not None else None
        if from_profile is not None and from_profile.url.rstrip("/") != url:
            raise CliError(f"the token of profile '{from_profile.name}' is for {from_profile.url}, not {url}; "
                           "pass --token, or log in to that URL with another --profile")
        if token:
            check_transport(url, self.insecure)
        self._resolved = (url, token)
        return self._resolved

    def client(self) -> Client:
        if self._client is None:
            url, token = self.resolve()
            self._client = Client(url, token, timeout=30.0, retries=2)
        return self._client

    @property
    def token(self) -> str | None:
        return self.resolve()[1]

    def target(self, node_id: str | None, org_id: str | None) -> Target:
        """No node and no org: the token's own node. Otherwise an admin's node (`--org` may be
        left out with an org-admin token; a team naming its own node still uses /config/me)."""
        if node_id is None and org_id is None:
            return Target()
        parts = (self.token or "").split(".")
        if len(parts) == 3 and org_id in (None, parts[0]) and node_id in (None, parts[1]):
            return Target()
        org = org_id or (parts[0] if len(parts) == 2 else None)
        if org is None:
            raise CliError("name the org with --org ORG")
        return Target(org, node_id or org)

    def org(self, org_id: str | None) -> str:
        """The org an admin command acts on: `--org`, else an org-admin token's own."""
        if org_id:
            return org_id
        parts = (self.token or "").split(".")
        if len(parts) == 2:
            return parts[0]
        raise CliError("name the org with --org ORG")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def check_transport(url: str, insecure: bool) -> None:
    """A token travels over plain http only to this machine, unless --insecure."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"not a service URL: {url!r} (e.g. {DEFAULT_URL})")
    if parts.scheme == "https" or insecure or is_loopback(parts.hostname):
        return
    raise CliError(f"refusing to send a token over plain http to {parts.hostname}: use https, "
                   "or pass --insecure if this network is trusted")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _from_command_line(source: object | None) -> bool:
    """Was the option given on the command line (not taken from the environment or a default)?
    Typer carries its own copy of click, so its ParameterSource is compared by name."""
    return getattr(source, "name", None) == "COMMANDLINE"


def session(ctx: typer.Context) -> Session:
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        raise CliError("internal: the root options were not parsed")
    return root.obj


def make_session(ctx: typer.Context, url: str | None, token: str | None, profile: str | None,
                 insecure: bool) -> Session:
    s = Session(
        url_option=url,
        url_source=ctx.get_parameter_source("url"),
        token_option=token,
        token_source=ctx.get_parameter_source("token"),
        profile_name=profile,
        insecure=insecure,
    )
    ctx.call_on_close(s.close)
    return s
