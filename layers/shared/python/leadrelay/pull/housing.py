"""Housing.com builder leads (pull, JSON).

`GET https://pahal.housing.com/api/v0/get-builder-leads?start_date=<epoch>&end_date=<epoch>
&current_time=<epoch>&hash=<hex HMAC-SHA256(key=API key, msg=current_time)>&id=<profile id>`
(third-party code; no public spec; `leads.housing.com` is also seen). The key itself never travels:
the hash proves we hold it, for this `current_time` only. The answer's shape varies between
integrations (a list, or an object holding one), so `leadrelay.sources.housing` reads it liberally.

Housing publishes no rate limit; we call at most every 10 minutes, a day at a time.

Source settings: `api_key` and `profile_id` (enable the poller), optionally `pull_url`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from leadrelay.models import Source, SourceKind
from leadrelay.pull import (
    PORTAL_POLICY,
    Pulled,
    PullFailure,
    PullPolicy,
    Window,
    policy_from_settings,
    pull_url,
    setting_str,
)
from leadrelay.pull.http import call, masked_url, scrub
from leadrelay.sources import PayloadError
from leadrelay.sources.portals import LIST_KEYS, canonical_json, leads_in

DEFAULT_URL = "https://pahal.housing.com/api/v0/get-builder-leads"
POLICY = PORTAL_POLICY


def housing_hash(api_key: str, current_time: int) -> str:
    """hex HMAC-SHA256 of the decimal `current_time`, keyed with the API key."""
    return hmac.new(api_key.encode("utf-8"), str(current_time).encode("ascii"), hashlib.sha256).hexdigest()


def _holds_leads(body: Any) -> bool:
    if isinstance(body, list):
        return True
    if not isinstance(body, dict):
        return False
    return any(isinstance(body.get(k), list) or _holds_leads(body.get(k)) for k in LIST_KEYS if k in body)


def _error_of(body: Any) -> str | None:
    """An error object's message (`{"status": false, "message": …}`, `{"error": …}`), else None."""
    if not isinstance(body, dict) or _holds_leads(body):
        return None
    status = body.get("status", body.get("success"))
    if body.get("error") or status in (False, "false", "error", "failure", "fail"):
        return str(body.get("message") or body.get("error") or body.get("msg") or "Housing answered an error")
    return None


class HousingPuller:
    """Pulls Housing.com leads for sources with `api_key` and `profile_id`."""

    kind = SourceKind.HOUSING

    def configured(self, source: Source) -> bool:
        return setting_str(source, "api_key") is not None and setting_str(source, "profile_id") is not None

    def policy(self, source: Source) -> PullPolicy:
        return policy_from_settings(source, POLICY)

    def fetch(self, source: Source, window: Window, now: datetime) -> Pulled:
        key, profile = setting_str(source, "api_key") or "", setting_str(source, "profile_id") or ""
        base = pull_url(source, DEFAULT_URL)
        current = int(now.timestamp())
        query = urlencode({"start_date": int(window.start.timestamp()), "end_date": int(window.end.timestamp()),
                           "current_time": current, "hash": housing_hash(key, current), "id": profile})  # fmt: skip
        url = f"{base}{'&' if '?' in base else '?'}{query}"
        masked = masked_url(url, ("hash",))
        answer = call("GET", url, masked=masked, timeout_s=self.policy(source).timeout_s)
        if answer.status >= 500:
            raise PullFailure("unavailable", str(answer.status), f"Housing answered HTTP {answer.status}", url=masked)
        try:
            body: Any = answer.json()
        except ValueError:  # not UTF-8, not JSON, or nested past the limit
            body = None
        error = _error_of(body)
        if answer.status >= 400:
            kind = "auth" if answer.status in (401, 403) else "bad_request"
            message = scrub(error or f"Housing answered HTTP {answer.status}", (key,))
            raise PullFailure(kind, str(answer.status), message, url=masked)
        if error is not None:
            kind = "auth" if any(w in error.lower() for w in ("hash", "auth", "key", "profile")) else "provider_error"
            raise PullFailure(kind, "error", scrub(error, (key,)), url=masked)
        if body is None or not (_holds_leads(body) or isinstance(body, dict)):
            raise PullFailure("invalid_answer", str(answer.status), "Housing answered something that is not JSON",
                              url=masked)  # fmt: skip
        if not _holds_leads(body):
            return Pulled([], "application/json", masked, "200", "no data")
        try:
            records = leads_in(body if isinstance(body, dict) else {"leads": body})
        except PayloadError as exc:
            raise PullFailure("invalid_answer", "200", str(exc), url=masked) from None
        records = [r for r in records if r not in ({}, None)]
        return Pulled([canonical_json(r) for r in records], "application/json", masked, "200",
                      f"{len(records)} leads" if records else "no data")  # fmt: skip
