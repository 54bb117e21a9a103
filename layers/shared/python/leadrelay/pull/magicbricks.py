"""MagicBricks lead download (pull, JSON).

`GET http://rating.magicbricks.com/mbRating/download.json?key=KEY&startDate=YYYYMMDD&endDate=YYYYMMDD`
answers `{"leadPojo": {"leads": [{name, email, mobile, isd, msg, project, locality, city}, …]}}`,
or an error as `<status>error</status><errormsg>…</errormsg>` (seen in third-party code; no public
spec). Dates are whole IST days, so a window is re-asked from the start of its first day: the
repeats are duplicates (see `leadrelay.sources.portals` on dedupe without a lead id).

MagicBricks publishes no rate limit; we call at most every 10 minutes, a day at a time.

Source settings: `api_key` (enables the poller), optionally `pull_url` (e.g. an https URL when
MagicBricks gives you one: the documented URL is plain http, so the key travels unencrypted).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from leadrelay.models import Source, SourceKind
from leadrelay.pull import (
    IST,
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
from leadrelay.sources.portals import canonical_json, leads_in

DEFAULT_URL = "http://rating.magicbricks.com/mbRating/download.json"
POLICY = PORTAL_POLICY
_ERROR = re.compile(rb"<status>\s*error\s*</status>", re.IGNORECASE)
_ERROR_MESSAGE = re.compile(rb"<errormsg>(.*?)</errormsg>", re.IGNORECASE | re.DOTALL)
_AUTH_WORDS = ("key", "auth", "unauthori", "credential")


def magicbricks_date(moment: datetime) -> str:
    """The IST day of `moment` as MagicBricks wants it: `20260105`."""
    return moment.astimezone(IST).strftime("%Y%m%d")


def _failure(message: str, url: str) -> PullFailure:
    kind = "auth" if any(word in message.lower() for word in _AUTH_WORDS) else "provider_error"
    return PullFailure(kind, "error", message or "MagicBricks answered an error", url=url)


class MagicBricksPuller:
    """Pulls MagicBricks leads for sources with an `api_key`."""

    kind = SourceKind.MAGICBRICKS

    def configured(self, source: Source) -> bool:
        return setting_str(source, "api_key") is not None

    def policy(self, source: Source) -> PullPolicy:
        return policy_from_settings(source, POLICY)

    def fetch(self, source: Source, window: Window, now: datetime) -> Pulled:
        key = setting_str(source, "api_key") or ""
        base = pull_url(source, DEFAULT_URL)
        query = urlencode({"key": key, "startDate": magicbricks_date(window.start),
                           "endDate": magicbricks_date(window.end)})  # fmt: skip
        url = f"{base}{'&' if '?' in base else '?'}{query}"
        masked = masked_url(url, ("key",))
        answer = call("GET", url, masked=masked, timeout_s=self.policy(source).timeout_s)
        if answer.status >= 500:
            raise PullFailure("unavailable", str(answer.status), f"MagicBricks answered HTTP {answer.status}",
                              url=masked)  # fmt: skip
        if _ERROR.search(answer.body):
            found = _ERROR_MESSAGE.search(answer.body)
            text = found.group(1).decode("utf-8", "replace").strip() if found else ""
            raise _failure(scrub(text, (key,)), masked)
        try:
            body: Any = answer.json()
        except ValueError:  # not UTF-8, not JSON, or nested past the limit
            kind = "auth" if answer.status in (401, 403) else "invalid_answer"
            raise PullFailure(kind, str(answer.status), f"MagicBricks answered HTTP {answer.status} without JSON",
                              url=masked) from None  # fmt: skip
        if isinstance(body, dict) and str(body.get("status", "")).lower() == "error":
            raise _failure(scrub(str(body.get("errormsg") or body.get("message") or ""), (key,)), masked)
        if answer.status >= 400:
            kind = "auth" if answer.status in (401, 403) else "bad_request"
            raise PullFailure(kind, str(answer.status), f"MagicBricks answered HTTP {answer.status}", url=masked)
        if isinstance(body, list):
            body = {"leads": body}
        if not isinstance(body, dict):
            raise PullFailure("invalid_answer", str(answer.status), "the answer is not a JSON object", url=masked)
        pojo = body.get("leadPojo", body)
        if not isinstance(pojo, dict) or not pojo.get("leads"):
            return Pulled([], "application/json", masked, "200", "no data")
        try:
            records = leads_in(body, nested=("leadPojo",))
        except PayloadError as exc:
            raise PullFailure("invalid_answer", "200", str(exc), url=masked) from None
        return Pulled([canonical_json(r) for r in records], "application/json", masked, "200",
                      f"{len(records)} leads")  # fmt: skip
