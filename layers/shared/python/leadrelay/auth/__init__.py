"""Who is calling and what they may see.

Cognito authenticates; LeadRelay's own user record (keyed by the token's `sub`) says who the
caller is: role, agent and team (`leadrelay.auth.identity`). Agents see their own leads,
managers their team's (and the unassigned queue), admins everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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


def _groups(raw: Any) -> list[str]:
    """`cognito:groups` arrives as a list, "a,b", "[a b]" or "[a, b]" depending on the gateway."""
    if isinstance(raw, list):
        return [str(g) for g in raw]
    text = str(raw or "").strip().strip("[]")
    return [part for part in text.replace(",", " ").split() if part]


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    agent_id: str | None = None
    team_id: str | None = None
    # The LeadRelay user record's id (the Cognito `sub`); None only for principals built from
    # claims alone (`from_claims`, kept for tools that have no user records).
    user_id: str | None = None
    request: RequestInfo = field(default_factory=RequestInfo, compare=False)
    # Lead ids this request showed, written to the access log once when it answers.
    reads: list[tuple[str, tuple[str, ...]]] = field(default_factory=list, compare=False, hash=False)

    @classmethod
    def from_claims(cls, claims: dict[str, Any] | None) -> Principal:
        if not claims:
            raise Unauthorized("no identity: sign in and send the ID token as a Bearer token")
        groups = set(_groups(claims.get("cognito:groups")))
        role = next((r for r in Role if r.value in groups), None)
        if role is None:
            raise Unauthorized("the user belongs to no LeadRelay group (admin, manager or agent)")
        username = str(claims.get("cognito:username") or claims.get("username") or claims.get("sub") or "")
        return cls(
            username=username,
            role=role,
            agent_id=claims.get("custom:agent_id") or None,
            team_id=claims.get("custom:team_id") or None,
        )

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
