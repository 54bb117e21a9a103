"""The API's front door, run before the resolver: who is calling (LeadRelay's user record for
the token's `sub`), may their role call this route (api_routes/access.py), and — once the route
answered — one access-log write for every lead whose data the answer showed."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from api_routes.access import Rule, rule_for
from leadrelay.auth import Forbidden, Principal, RequestInfo, Unauthorized

logger = Logger(service="api")

_current: ContextVar[Principal | None] = ContextVar("leadrelay_principal", default=None)


def current_principal() -> Principal | None:
    """The principal the gate resolved for the request being served (None outside one)."""
    return _current.get()


def request_info(event: dict[str, Any]) -> RequestInfo:
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    resource = event.get("resource") or event.get("path") or ""
    return RequestInfo(
        request_id=str(context.get("requestId") or ""),
        route=f"{event.get('httpMethod', '')} {event.get('path') or resource}",
        source_ip=identity.get("sourceIp"),
        user_agent=identity.get("userAgent") or headers.get("user-agent"),
    )


def identify_event(event: dict[str, Any], *, require_mfa: bool = True) -> Principal:
    """Resolve the caller of `event` from its authorizer claims and LeadRelay's user record."""
    from leadrelay import wiring
    from leadrelay.auth.identity import identify
    from leadrelay.clock import get_clock
    from leadrelay.config import get_settings

    settings = get_settings()
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
    return identify(
        claims,
        users=wiring.user_store(),
        directory=wiring.user_directory,
        now=get_clock().now(),
        mfa_recheck=timedelta(minutes=settings.mfa_recheck_minutes),
        require_mfa=require_mfa,
        request=request_info(event),
    )


def _answer(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": code, "message": message}),
        "isBase64Encoded": False,
    }


def serve(event: dict[str, Any], resolve: Callable[[], dict[str, Any]], has_route: Callable[[str, str], bool]) -> Any:
    """Check the caller against the route's rule, run `resolve`, then log the reads."""
    method = str(event.get("httpMethod") or "GET").upper()
    path = str(event.get("path") or "/")
    found = rule_for(method, path)
    rule: Rule | None = found[1] if found else None
    if rule is not None and rule.public:
        return resolve()
    try:
        who = identify_event(event, require_mfa=rule is None or rule.needs_mfa)
    except Unauthorized as refused:
        return _answer(401, refused.code, str(refused))
    except Forbidden as refused:
        return _answer(403, refused.code, str(refused))
    if rule is None:
        if has_route(method, path):
            logger.error("route without an access rule", extra={"method": method, "path": path})
            return _answer(403, "no_access_rule", f"{method} {path} has no access rule yet; nobody may call it")
    elif who.role not in rule.roles:
        allowed = ", ".join(sorted(r.value for r in rule.roles))
        return _answer(403, "forbidden", f"this needs the {allowed} role; you are {who.role.value}")
    token = _current.set(who)
    try:
        response = resolve()
    finally:
        _current.reset(token)
    if who.reads and int(response.get("statusCode", 500)) < 400:
        try:
            write_reads(who)
        except Exception:
            # Personal data must not leave without its access-log line: refuse rather than show it.
            logger.exception("could not write the access log; the answer is withheld")
            return _answer(503, "audit_unavailable", "the access log could not be written; try again")
    return response


def write_reads(who: Principal) -> None:
    """One access-log item for every read this request made."""
    from leadrelay import wiring
    from leadrelay.clock import get_clock
    from leadrelay.models.access import AccessEntry

    whats = [what for what, _ in who.reads]
    lead_ids = [lead_id for _, ids in who.reads for lead_id in ids]
    entry = AccessEntry(
        at=get_clock().now(),
        request_id=who.request.request_id or "-",
        user_id=who.user_id or who.username,
        username=who.username,
        role=who.role.value,
        team_id=who.team_id,
        route=who.request.route,
        what=", ".join(dict.fromkeys(whats)),
        lead_ids=lead_ids,
        source_ip=who.request.source_ip,
        user_agent=who.request.user_agent,
    )
    wiring.access_log().append(entry)
