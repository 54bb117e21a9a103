"""IndiaMART Lead Manager CRM API v2 (pull).

`GET https://mapi.indiamart.com/wservce/crm/crmListing/v2/?glusr_crm_key=KEY&start_time=…&end_time=…`
with times in IST as `DD-Mon-YYYYHH:MM:SS` (`07-Dec-202109:00:00`). Limits (IndiaMART's help pages):
at most 7 days per call, only the last 365 days, one call per 5 minutes (CODE 429 otherwise; more
than 5 calls in a minute blocks the key for 15 minutes). The answer is
`{CODE, STATUS, MESSAGE, TOTAL_RECORDS, RESPONSE[]}`: 200 leads, 204 no data, 400 bad window,
401 bad or expired key (a key expires after 7 days of seller inactivity, and generating a new one
cancels the old), 429 too many calls, 500 IndiaMART's own error. Each record is the same as a push
lead, so the push adapter (`leadrelay.sources.indiamart`) reads it; `UNIQUE_QUERY_ID` dedupes.

Source settings: `glusr_crm_key` (enables the poller), optionally `pull_url` and the pacing
settings of `leadrelay.pull.policy_from_settings`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from leadrelay.models import Source, SourceKind
from leadrelay.pull import IST, Pulled, PullFailure, PullPolicy, Window, policy_from_settings, pull_url, setting_str
from leadrelay.pull.http import call, masked_url, scrub
from leadrelay.sources.portals import canonical_json

DEFAULT_URL = "https://mapi.indiamart.com/wservce/crm/crmListing/v2/"
KEY_SETTING = "glusr_crm_key"
POLICY = PullPolicy(
    min_interval=timedelta(minutes=5),
    max_window=timedelta(days=7),
    max_lookback=timedelta(days=365),
    first_lookback=timedelta(hours=24),
    overlap=timedelta(minutes=5),
    rate_limited_wait=timedelta(minutes=15),
)
# Month names are IndiaMART's, not the machine locale's (`%b` would follow the locale).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FAILURES = {400: "bad_request", 401: "auth", 403: "auth", 429: "rate_limited"}


def indiamart_time(moment: datetime) -> str:
    """`moment` in IST as IndiaMART wants it: `07-Dec-202109:00:00` (no space before the hour)."""
    local = moment.astimezone(IST)
    return f"{local.day:02d}-{_MONTHS[local.month - 1]}-{local.year:04d}{local:%H:%M:%S}"


def _code(answer: dict[str, Any], status: int) -> int:
    value = answer.get("CODE", status)
    try:
        return int(str(value).strip())
    except ValueError:
        return status


class IndiaMartPuller:
    """Pulls IndiaMART enquiries for sources with a `glusr_crm_key`."""

    kind = SourceKind.INDIAMART

    def configured(self, source: Source) -> bool:
        return setting_str(source, KEY_SETTING) is not None

    def policy(self, source: Source) -> PullPolicy:
        return policy_from_settings(source, POLICY)

    def fetch(self, source: Source, window: Window, now: datetime) -> Pulled:
        key = setting_str(source, KEY_SETTING) or ""
        base = pull_url(source, DEFAULT_URL)
        query = urlencode(
            {KEY_SETTING: key, "start_time": indiamart_time(window.start), "end_time": indiamart_time(window.end)}
        )
        url = f"{base}{'&' if '?' in base else '?'}{query}"
        masked = masked_url(url, (KEY_SETTING,))
        answer = call("GET", url, masked=masked, timeout_s=self.policy(source).timeout_s)
        try:
            body = answer.json()
        except ValueError:  # not UTF-8, not JSON, or nested past the limit
            body = None
        if not isinstance(body, dict):
            kind = "unavailable" if answer.status >= 500 else _FAILURES.get(answer.status, "invalid_answer")
            raise PullFailure(kind, str(answer.status), f"IndiaMART answered HTTP {answer.status} without a JSON "
                              "envelope", url=masked)  # fmt: skip
        code = _code(body, answer.status)
        message = scrub(str(body.get("MESSAGE") or body.get("STATUS") or ""), (key,))
        if code == 204:
            return Pulled([], "application/json", masked, "204", message or "no data")
        if code == 200:
            records = body.get("RESPONSE")
            if records is None:
                records = []
            if isinstance(records, dict):
                records = [records]
            if not isinstance(records, list):
                raise PullFailure("invalid_answer", "200", "RESPONSE is neither a list nor a lead", url=masked)
            return Pulled([canonical_json(r) for r in records], "application/json", masked, "200", message)
        kind = "unavailable" if code >= 500 else _FAILURES.get(code, "provider_error")
        retry_after = POLICY.rate_limited_wait if code == 429 else None
        raise PullFailure(kind, str(code), message or f"IndiaMART answered CODE {code}", url=masked,
                          retry_after=retry_after)  # fmt: skip
