"""IndiaMART Lead Manager push: a JSON lead in one of the envelopes integrators report.

- wrapped: `{"CODE": 200, "STATUS": "SUCCESS", "RESPONSE": {lead}}`
- flat: `{lead}` (the fields at the top level)
- a batch: `{"RESPONSE": [lead, …]}` or a bare JSON array of leads

`UNIQUE_QUERY_ID` is the dedupe key. IndiaMART signs nothing (the source key in the URL is the
secret) and is reported to switch Push off after ~48 h of non-200 answers, so once the key is
right the answer is always 200: leads stored, and anything unreadable kept in quarantine.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from leadrelay.models import Source
from leadrelay.sources import BaseAdapter, ParsedItem, PayloadError, Receipt, provider_answer
from leadrelay.sources.fields import IST, build_lead, external_id, multiline, text, time_or_warning

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult

QUERY_TYPES = {
    "W": "direct",  # a direct enquiry on the catalogue
    "B": "buy_lead",  # a Buy-Lead the seller bought
    "P": "call",  # a phone call through IndiaMART's PNS number
    "WA": "whatsapp",
    "BIZ": "catalog_view",  # viewed the catalogue only, not an enquiry
    "V": "catalog_view",
}
# The buyer gave no name: IndiaMART fills one in.
_PLACEHOLDER_NAMES = {"indiamart buyer", "indiamart user"}
_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{1,40}>")
# Fields that become lead fields; the rest (company, subject, alternate numbers…) stay in `extra`.
# QUERY_TIME, SUBJECT and QUERY_MCAT_NAME are read too (source_time, fallbacks) but also kept as sent.
_MAPPED = {
    "UNIQUE_QUERY_ID", "QUERY_TYPE", "SENDER_NAME", "SENDER_MOBILE", "SENDER_EMAIL", "SENDER_CITY",
    "SENDER_STATE", "SENDER_PINCODE", "QUERY_PRODUCT_NAME", "QUERY_MESSAGE",
}  # fmt: skip


def clean_message(value: Any) -> str | None:
    """IndiaMART's message HTML as plain lines: `<br>` → newline, other tags and entities gone."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    plain = html.unescape(_TAG.sub(" ", _BREAK.sub("\n", str(value))))
    return multiline(plain)


def _leads_in(payload: dict[str, Any]) -> list[Any]:
    body = payload.get("RESPONSE", payload) if "RESPONSE" in payload else payload
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise PayloadError("invalid_body", "RESPONSE must be a lead object or a list of leads")


class IndiaMartAdapter(BaseAdapter):
    """IndiaMART push → one lead per enquiry in the envelope."""

    accepts_list = True

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        items = _leads_in(payload)
        if not items:
            raise PayloadError("no_leads", "the envelope holds no leads")
        parsed: list[ParsedItem] = []
        for position, item in enumerate(items):
            try:
                parsed.append(self._lead(item, source))
            except PayloadError as exc:
                where = f"lead {position + 1} of {len(items)}: " if len(items) > 1 else ""
                parsed.append(PayloadError(exc.code, f"{where}{exc}", exc.status))
        return parsed

    def _lead(self, item: Any, source: Source) -> ParsedItem:
        if not isinstance(item, dict):
            raise PayloadError("invalid_body", f"a lead must be an object, got {type(item).__name__}")
        fields = {str(k).upper(): v for k, v in item.items()}
        name = text(fields.get("SENDER_NAME"))
        if name and name.lower() in _PLACEHOLDER_NAMES:
            name = None
        code = (text(fields.get("QUERY_TYPE"), 20) or "").upper()
        enquiry = QUERY_TYPES.get(code, "other") if code else None
        extra: dict[str, Any] = {
            key.lower(): value for key, value in fields.items() if key not in _MAPPED and value not in (None, "")
        }
        if enquiry:
            extra["enquiry_type"] = enquiry
        if code:
            extra["query_type"] = code
        warnings: list[str] = []
        # A phone-call (PNS) enquiry has no product name and no message: the category and the
        # subject IndiaMART writes are what the seller has to go on.
        lead = build_lead(
            source,
            name=name,
            phones=(fields.get(k) for k in ("SENDER_MOBILE", "SENDER_MOBILE_ALT", "SENDER_PHONE", "SENDER_PHONE_ALT")),
            emails=(fields.get(k) for k in ("SENDER_EMAIL", "SENDER_EMAIL_ALT")),
            city=fields.get("SENDER_CITY"),
            state=fields.get("SENDER_STATE"),
            pincode=fields.get("SENDER_PINCODE"),
            product=text(fields.get("QUERY_PRODUCT_NAME")) or text(fields.get("QUERY_MCAT_NAME")),
            message=clean_message(fields.get("QUERY_MESSAGE")) or clean_message(fields.get("SUBJECT")),
            external=external_id(fields.get("UNIQUE_QUERY_ID")),
            extra=extra,
            tags=(f"indiamart:{enquiry}",) if enquiry else (),
            # QUERY_TIME is IST without an offset ("2026-01-05 15:44:28").
            source_time=time_or_warning(fields.get("QUERY_TIME"), "QUERY_TIME", warnings, zone=IST),
        )
        lead.warnings.extend(warnings)
        return lead

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        """Always 200 once the key is right: a refused payload is kept in quarantine (replayable),
        and a non-200 would only make IndiaMART retry the same bytes, then switch Push off."""
        answer = provider_answer(receipt)
        if receipt.rejection is not None:
            rejected = receipt.rejection.body
            answer.body = {"status": "quarantined", **(rejected if isinstance(rejected, dict) else {})}
        return answer
