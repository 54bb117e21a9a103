"""99acres response API (pull, XML).

`POST` the form field `xml=<?xml version='1.0'?><query><user_name>U</user_name><pswd>P</pswd>
<start_date>YYYY-MM-DD hh:mm:ss</start_date><end_date>…</end_date></query>` (times in IST; the
written spec says `pwd`, working integrations use `pswd`). The answer is `<Xml ActionStatus="true">`
with one `<Resp>` per response, or `ActionStatus="false"` with `ErrorDetail/Code/Message`. Each
`<Resp>` goes to capture as its own XML body, read by `leadrelay.sources.ninety_nine_acres`.

99acres publishes no rate limit or window size; we call at most every 10 minutes and ask for at
most a day at a time (both settable, see `leadrelay.pull.policy_from_settings`).

Source settings: `user_name` and `password` (enable the poller), optionally `pull_url`.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from xml.etree.ElementTree import tostring
from xml.sax.saxutils import escape

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
from leadrelay.pull.http import call, scrub
from leadrelay.sources import PayloadError
from leadrelay.sources.ninety_nine_acres import ProviderXmlError, parse_xml, responses

# The path segment after getmy99Response is the same for every integration seen (not a secret).
DEFAULT_URL = "https://www.99acres.com/99api/v1/getmy99Response/OeAuXClO43hwseaXEQ/uid/"
POLICY = PORTAL_POLICY
# Words in 99acres' error messages that mean the credentials were refused.
_AUTH_WORDS = ("password", "user", "credential", "authent", "login", "unauthori")


def acres_time(moment: datetime) -> str:
    """`moment` in IST as 99acres wants it: `2026-01-05 09:00:00`."""
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def query_xml(user: str, password: str, window: Window) -> str:
    """The `xml` form field of a pull (the credentials XML-escaped)."""
    return (
        "<?xml version='1.0'?><query>"
        f"<user_name>{escape(user)}</user_name><pswd>{escape(password)}</pswd>"
        f"<start_date>{acres_time(window.start)}</start_date><end_date>{acres_time(window.end)}</end_date>"
        "</query>"
    )


class NinetyNineAcresPuller:
    """Pulls 99acres responses for sources with `user_name` and `password`."""

    kind = SourceKind.NINETY_NINE_ACRES

    def configured(self, source: Source) -> bool:
        return setting_str(source, "user_name") is not None and setting_str(source, "password") is not None

    def policy(self, source: Source) -> PullPolicy:
        return policy_from_settings(source, POLICY)

    def fetch(self, source: Source, window: Window, now: datetime) -> Pulled:
        user, password = setting_str(source, "user_name") or "", setting_str(source, "password") or ""
        url = pull_url(source, DEFAULT_URL)  # credentials travel in the body, not the URL
        form = urlencode({"xml": query_xml(user, password, window)}).encode("utf-8")
        answer = call("POST", url, masked=url, data=form, timeout_s=self.policy(source).timeout_s,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        if answer.status >= 500:
            raise PullFailure("unavailable", str(answer.status), f"99acres answered HTTP {answer.status}", url=url)
        if answer.status in (401, 403):
            raise PullFailure("auth", str(answer.status), f"99acres answered HTTP {answer.status}", url=url)
        try:
            found = responses(parse_xml(answer.body))
        except ProviderXmlError as exc:
            message = scrub(exc.provider_message, (user, password))
            kind = "auth" if any(word in message.lower() for word in _AUTH_WORDS) else "provider_error"
            raise PullFailure(kind, exc.provider_code, message, url=url) from None
        except PayloadError as exc:
            raise PullFailure("invalid_answer", str(answer.status), f"99acres answered something that is not its "
                              f"XML ({exc.code})", url=url) from None  # fmt: skip
        for resp in found:
            resp.tail = None  # the whitespace after it is not the record's (and would change its bytes)
        records = [tostring(resp, encoding="unicode").encode("utf-8") for resp in found]
        return Pulled(records, "application/xml", url, "200", f"{len(records)} responses" if records else "no data")
