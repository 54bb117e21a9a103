"""Who is calling and what they may see.

Cognito authenticates; LeadRelay's own user record (keyed by the token's `sub`) says who the
caller is: role, agent and team (`leadrelay.auth.identity`). Agents see their own leads,
managers their team's (and the unassigned queue), admins everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from leadrelay.models import Agent, Lead


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


class Unauthorized(Exception):
    """No usable identity (no claims, no LeadRelay user, or a disabled one): 401 with `code`."""

    def __init__(self, message: str, code: str = "unauthorized") -> None:
        super().__init__(message)
        self.code = code


class Forbidden(Exception):
    """The caller is known but may not do this: 403 with `code`."""

    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from, for the access log."""

    request_id: str = ""
    route: str = ""
    source_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    agent_id: str | None = None
    team_id: str | None = None
    # The LeadRelay user record's id (the Cognito `sub`). Principals come from
    # `leadrelay.auth.identity.identify`, never from token claims a person could edit.
    user_id: str | None = None
    request: RequestInfo = field(default_factory=RequestInfo, compare=False)
    # Lead ids this request showed, written to the access log once when it answers.
    reads: list[tuple[str, tuple[str, ...]]] = field(default_factory=list, compare=False, hash=False)

    def can_see_lead(self, lead: Lead) -> bool:
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.MANAGER:
            return lead.assigned_team_id == self.team_id or lead.assigned_agent_id is None
        return lead.assigned_agent_id is not None and lead.assigned_agent_id == self.agent_id

    def can_see_agent(self, agent: Agent) -> bool:
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.MANAGER:
            return agent.team_id == self.team_id
        return agent.agent_id == self.agent_id

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs the {allowed} role; you are {self.role.value}")
