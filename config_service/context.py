"""What one running service holds: settings, database, keys, live config. Built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from config_service.auth.named import NamedCallers
from config_service.auth.throttle import AuthThrottle
from config_service.db.engine import Database
from config_service.keys import ConfigKeys
from config_service.live.service import Live
from config_service.ops.limits import IssueBudget
from config_service.settings import Settings
from config_service.tokens.service import LastUsedRecorder, Peppers


@dataclass
class AppContext:
    settings: Settings
    db: Database
    peppers: Peppers
    keys: ConfigKeys
    live: Live  # caches, the change feed and watchers: started and stopped by the lifespan
    last_used: LastUsedRecorder
    admin_token: str
    internal_token: str | None
    issuing: IssueBudget  # per-org rate of token issuing (ops/limits.py)
    auth_throttle: AuthThrottle  # failed authentication per client address (auth/throttle.py)
    named_callers: NamedCallers | None = None  # opt-in (DESIGN §4); None: a name header is no credential
