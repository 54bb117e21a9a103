"""A person who signs in to LeadRelay: who they are to the organisation (role, agent, team) is
kept here, keyed by their Cognito `sub`, never in token attributes the person could edit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class UserStatus(StrEnum):
    ACTIVE = "active"
    # Sign-in blocked and every request refused; an admin may enable the person again.
    DISABLED = "disabled"
    # Gone for good (their agent profile was deleted); the record stays for the access log.
    REMOVED = "removed"


class User(BaseModel):
    """A LeadRelay user record (org table, `USERS` / `<sub>`)."""

    user_id: str = Field(description="the Cognito `sub`: stable, never reused")
    username: str
    role: str = Field(description="admin, manager or agent")
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    agent_id: str | None = None
    team_id: str | None = None
    status: UserStatus = UserStatus.ACTIVE
    # TOTP confirmed with Cognito (see docs/deploy.md, MFA); required for admins and managers.
    mfa_enrolled: bool = False
    mfa_checked_at: datetime | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    disabled_at: datetime | None = None
    disabled_by: str | None = None
    disabled_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.status is UserStatus.ACTIVE

    @property
    def needs_mfa(self) -> bool:
        """Admins and managers see many people's leads: they must sign in with TOTP."""
        return self.role in ("admin", "manager")
