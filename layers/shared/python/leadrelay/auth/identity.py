"""From a verified Cognito token to a LeadRelay principal.

The token proves who signed in (its `sub`); everything else — role, agent, team, whether the
person may still act — comes from LeadRelay's user record, read per request through a cache of
a few seconds. Group claims and `custom:*` attributes are never trusted: a person can rewrite
their own mutable attributes with Cognito's UpdateUserAttributes.

Admins and managers must have TOTP: the record says so once Cognito has confirmed it (asked
again every `mfa_recheck_minutes`, so switching TOTP off in Cognito does not go unnoticed), or the
token's `amr` claim shows an MFA sign-in where Cognito puts that claim (docs/deploy.md, MFA).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadrelay.auth import Forbidden, Principal, RequestInfo, Role, Unauthorized
from leadrelay.models.user import User

log = logging.getLogger(__name__)

MFA_METHODS = frozenset({"mfa", "otp", "swk"})


class Users(Protocol):
    def cached(self, user_id: str) -> User | None: ...

    def mark_mfa(self, user_id: str, enrolled: bool, at: datetime) -> User | None: ...


class Directory(Protocol):
    def totp_enabled(self, username: str) -> bool: ...


def _amr(claims: dict[str, Any]) -> set[str]:
    raw = claims.get("amr")
    if isinstance(raw, list):
        return {str(v) for v in raw}
    text = str(raw or "").strip().strip("[]")
    return {part.strip().strip('"') for part in text.replace(",", " ").split() if part.strip()}


def signed_in_with_mfa(claims: dict[str, Any]) -> bool:
    """The token itself says the sign-in used a second factor (Cognito's `amr` claim)."""
    return bool(_amr(claims) & MFA_METHODS)


def _mfa_ok(
    user: User,
    claims: dict[str, Any],
    users: Users,
    directory: Callable[[], Directory],
    now: datetime,
    recheck: timedelta,
) -> bool:
    if signed_in_with_mfa(claims):
        return True
    checked = user.mfa_checked_at
    fresh = checked is not None and now - checked < recheck
    if user.mfa_enrolled and fresh:
        return True
    # Not enrolled on record (or confirmed too long ago): ask Cognito, at most once a minute
    # while the answer stays "no".
    if not user.mfa_enrolled and checked is not None and now - checked < timedelta(minutes=1):
        return False
    try:
        enrolled = directory().totp_enabled(user.username)
    except Exception:
        log.exception("could not confirm TOTP for %s with Cognito; keeping the record's answer", user.user_id)
        return user.mfa_enrolled
    users.mark_mfa(user.user_id, enrolled, now)
    return enrolled


def identify(
    claims: dict[str, Any] | None,
    *,
    users: Users,
    directory: Callable[[], Directory],
    now: datetime,
    mfa_recheck: timedelta = timedelta(minutes=15),
    require_mfa: bool = True,
    request: RequestInfo | None = None,
) -> Principal:
    """The caller, or `Unauthorized` (401) / `Forbidden` (403 `mfa_required`) with the reason."""
    if not claims:
        raise Unauthorized("no identity: sign in and send the ID token as a Bearer token")
    sub = str(claims.get("sub") or "")
    if not sub:
        raise Unauthorized("the token names no user (no sub claim)")
    user = users.cached(sub)
    if user is None:
        raise Unauthorized(
            "this sign-in has no LeadRelay user; ask an admin to invite you (POST /users)", code="user_unknown"
        )
    if not user.active:
        raise Unauthorized(f"this user is {user.status.value}; ask an admin", code="user_disabled")
    try:
        role = Role(user.role)
    except ValueError:
        raise Unauthorized(f"the user record has no valid role ({user.role!r})", code="user_unknown") from None
    if require_mfa and user.needs_mfa and not _mfa_ok(user, claims, users, directory, now, mfa_recheck):
        raise Forbidden(
            f"{role.value}s must sign in with an authenticator app (TOTP): enrol it in the app, then try again",
            code="mfa_required",
        )
    return Principal(
        username=user.username,
        role=role,
        agent_id=user.agent_id,
        team_id=user.team_id,
        user_id=user.user_id,
        request=request or RequestInfo(),
    )
