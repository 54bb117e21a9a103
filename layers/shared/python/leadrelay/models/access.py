"""One API request's reads of lead data, for the access log (`store/access_log.py` keeps them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The longest window the access log is read back over at once.
MAX_DAYS = 31


@dataclass
class AccessEntry:
    """One request's reads."""

    at: datetime
    request_id: str
    user_id: str
    username: str
    role: str
    team_id: str | None
    route: str
    what: str
    lead_ids: list[str] = field(default_factory=list)
    source_ip: str | None = None
    user_agent: str | None = None
