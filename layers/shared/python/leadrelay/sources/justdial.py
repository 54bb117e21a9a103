"""JustDial: push only, no public spec, no signature (the source key in the URL is the secret).

Accounts deliver by `GET` query string, `POST` JSON or `POST` form, so all three are read.
`leadid` is the dedupe key. `dncmobile`/`dncphone` = 1 means the number is on the Do-Not-Disturb
list: the lead is kept and marked `do_not_call`. JustDial expects a plain-text acknowledgement;
accounts differ (`RECEIVED`, `SUCCESS`), so it is the source's `ack_body` setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadrelay.models import Source
from leadrelay.models.contact import ContactError, parse_bool
from leadrelay.sources import BaseAdapter, ParsedItem, Receipt
from leadrelay.sources.fields import IST, build_lead, text, time_or_warning

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult

DEFAULT_ACK = "RECEIVED"
_MAPPED = {"leadid", "name", "mobile", "phone", "email", "city", "pincode", "category", "dncmobile", "dncphone", "key"}


def _flag(value: Any) -> bool:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return False
    try:
        return parse_bool(value, "dnc")
    except ContactError:
        return False


def _one(value: Any) -> Any:
    """A repeated query/form field: the first value counts."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _when(fields: dict[str, Any]) -> str | None:
    """JustDial's `date` + `time` (IST, no offset) as one wall-clock time; a date alone is its midnight."""
    day, clock = text(fields.get("date"), 20), text(fields.get("time"), 20)
    if not day:
        return None
    return f"{day} {clock}" if clock else f"{day} 00:00:00"


class JustDialAdapter(BaseAdapter):
    """A JustDial lead (query string, JSON or form) → one lead."""

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        fields = {str(k).lower(): _one(v) for k, v in payload.items()}
        extra = {k: v for k, v in fields.items() if k not in _MAPPED and v not in (None, "")}
        do_not_call = _flag(fields.get("dncmobile")) or _flag(fields.get("dncphone"))
        warnings: list[str] = []
        lead = build_lead(
            source,
            name=fields.get("name"),
            phones=(fields.get("mobile"), fields.get("phone")),
            emails=(fields.get("email"),),
            city=fields.get("city"),
            pincode=fields.get("pincode"),
            product=fields.get("category"),
            message=text(fields.get("message") or fields.get("query"), 5000),
            external=fields.get("leadid"),
            extra=extra,
            tags=("do_not_call",) if do_not_call else (),
            do_not_call=do_not_call,
            source_time=time_or_warning(_when(fields), "date and time", warnings, zone=IST),
        )
        lead.warnings.extend(warnings)
        return [lead]

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        from leadrelay.capture import CaptureResult

        if receipt.rejection is not None:
            return receipt.rejection
        ack = source.settings.get("ack_body") or DEFAULT_ACK
        lead_id = receipt.stored[0].lead_id
        return CaptureResult(200, str(ack), {"X-Lead-Id": lead_id}, content_type="text/plain")
