"""Razorpay webhooks: a paid payment link is a lead (or a touchpoint on the payer's lead) with the amount.

- Signature: `X-Razorpay-Signature` = hex HMAC-SHA256 of the raw body, keyed with the source's
  `webhook_secret` (not the API key secret), compared in constant time before the body is parsed.
  Missing → 401, wrong → 403, both kept in quarantine.
- Lead events: `payment_link.paid` (the source setting `lead_events` may add `payment.captured`
  for Checkout payments; a link's payment seen as both events is one payment, its `pay_…`). The payer
  comes from `payload.payment_link.entity.customer{name,email,contact}`, else
  `payload.payment.entity{email, contact}` (and `notes.name`).
- Money stays in integer paise (`extra.amount_paise`), never a float; plus `currency`,
  `payment_id`, `payment_link_id`, `reference_id`, `description`, `notes`, `method`, `order_id`.
- Dedupe: on ids inside the signed body, never on a header: the payment id (`pay_…`), else the
  payment link id with the event, is the `external_id`, so Razorpay's retries (exponential backoff
  for 24 h) are `duplicate` — and so is the same signed body sent again with another
  `x-razorpay-event-id` (a replay). The header is kept as `extra.event_id`, a hint only.
- Any other event is kept raw and ignored with a 200: Razorpay disables a webhook that keeps
  failing, so nothing signed correctly is ever answered with an error.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from leadrelay.models import Source
from leadrelay.sources import (
    BaseAdapter,
    Notice,
    ParsedItem,
    PayloadError,
    Receipt,
    same_secret,
    secret,
    signed_provider_answer,
)
from leadrelay.sources.fields import build_lead, external_id, multiline, obj, provider_time, scalars, text

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult, WebhookRequest

SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"
DEFAULT_LEAD_EVENTS = ("payment_link.paid",)


def signature_of(body: bytes, webhook_secret: str) -> str:
    """The `X-Razorpay-Signature` value Razorpay sends for `body`."""
    return hmac.new(webhook_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def paise(value: Any) -> int | None:
    """An amount in paise as an integer: ints as they are, integral strings or floats converted
    exactly; anything fractional or not a number is None (kept raw by the caller)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount != amount.to_integral_value():
        return None
    return int(amount)


def rupees(amount_paise: int, currency: str) -> str:
    """`150000, INR` → `₹1,500.00` (integer arithmetic only)."""
    sign = "-" if amount_paise < 0 else ""
    whole, part = divmod(abs(amount_paise), 100)
    symbol = "₹" if currency == "INR" else f"{currency} "
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any]:
    holder = payload.get(name)
    entity = holder.get("entity") if isinstance(holder, dict) else None
    return entity if isinstance(entity, dict) else {}


def _lead_events(source: Source) -> tuple[str, ...]:
    events = source.settings.get("lead_events")
    if isinstance(events, list) and all(isinstance(e, str) for e in events):
        return tuple(events)
    return DEFAULT_LEAD_EVENTS


def _body_id(extra: dict[str, Any], payload: dict[str, Any], event: str) -> str | None:
    """The dedupe key from inside the signed body: the payment (`pay_…`; the same payment seen as
    `payment.captured` and `payment_link.paid` is one), else the link with the event, else the
    event's own `id` when the body has one."""
    if extra.get("payment_id"):
        return str(extra["payment_id"])
    if extra.get("payment_link_id"):
        return f"{extra['payment_link_id']}:{event}"
    return external_id(payload.get("id"))


class RazorpayAdapter(BaseAdapter):
    """Razorpay webhook → a lead (or touchpoint) for a paid payment link; other events ignored."""

    def verify(self, request: WebhookRequest, source: Source) -> None:
        webhook_secret = secret(source, "webhook_secret")
        presented = request.headers.get(SIGNATURE_HEADER)
        if not presented:
            raise PayloadError("missing_signature", "the X-Razorpay-Signature header is missing", 401)
        if not same_secret(presented.strip().lower(), signature_of(request.body, webhook_secret)):
            raise PayloadError("invalid_signature", "X-Razorpay-Signature does not match the body", 403)

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return self.parse_event(payload, source, None)

    def parse_request(self, request: WebhookRequest, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return self.parse_event(payload, source, request.headers.get(EVENT_ID_HEADER))

    def parse_event(self, payload: dict[str, Any], source: Source, event_id: Any) -> list[ParsedItem]:
        event = text(payload.get("event"), 100)
        if not event:
            raise PayloadError("invalid_body", "expected a Razorpay event: {entity: event, event, payload: {…}}")
        if event not in _lead_events(source):
            return [Notice(reason=f"Razorpay event {event!r} is not a lead event for this source: kept and ignored")]
        body = payload.get("payload")
        if not isinstance(body, dict):
            raise PayloadError("invalid_body", f"the {event} event has no payload object")
        link, payment, order = _entity(body, "payment_link"), _entity(body, "payment"), _entity(body, "order")
        customer = obj(link.get("customer"))
        notes = obj(link.get("notes") or payment.get("notes"))

        currency = text(link.get("currency") or payment.get("currency"), 10) or "INR"
        extra: dict[str, Any] = {"event": event, "currency": currency}
        raw_amount = next((v for v in (link.get("amount_paid"), payment.get("amount"), link.get("amount"))
                           if v not in (None, "")), None)  # fmt: skip
        amount = paise(raw_amount)
        if amount is not None:
            extra["amount_paise"] = amount
        elif raw_amount is not None:
            extra["amount_raw"] = text(raw_amount, 60)
        ids = {
            "payment_id": payment.get("id"),
            "payment_link_id": link.get("id"),
            # The order the payment belongs to (`order_…`), as the payment says.
            "order_id": payment.get("order_id") or order.get("id") or link.get("order_id"),
            "reference_id": link.get("reference_id"),
        }
        for key, value in ids.items():
            if external_id(value):
                extra[key] = external_id(value)
        for key, value in (("method", payment.get("method")), ("short_url", link.get("short_url")),
                           ("status", link.get("status") or payment.get("status"))):  # fmt: skip
            if text(value, 500):
                extra[key] = text(value, 500)
        description = multiline(link.get("description") or payment.get("description"), 1000)
        if description:
            extra["description"] = description
        if notes:
            extra["notes"] = {str(k)[:100]: text(v, 1000) for k, v in notes.items() if text(v, 1000)}

        # Who paid, when it is not the link's customer (a relative paying for them): kept beside them.
        for key, theirs, payers in (("payer_contact", customer.get("contact"), payment.get("contact")),
                                    ("payer_email", customer.get("email"), payment.get("email"))):  # fmt: skip
            if text(theirs) and text(payers) and text(theirs) != text(payers):
                extra[key] = text(payers)
        if external_id(event_id):
            extra["event_id"] = external_id(event_id)  # a header: a hint, never the dedupe key
        # The event's own scalars (account_id, created_at, and any Razorpay adds later), as event_<name>.
        extra.update({f"event_{k}": v for k, v in scalars(payload).items() if k not in ("entity", "event")})

        paid = f"Paid {rupees(amount, currency)}" if amount is not None else "Paid"
        via = f" (payment link {extra['payment_link_id']})" if "payment_link_id" in extra else ""
        message = f"{paid}{via}" + (f": {description}" if description else "")
        ident = _body_id(extra, payload, event)
        lead = build_lead(
            source,
            name=customer.get("name") or notes.get("name") or notes.get("customer_name"),
            phones=(customer.get("contact"), payment.get("contact"), notes.get("phone")),
            emails=(customer.get("email"), payment.get("email"), notes.get("email")),
            message=message,
            external=ident,
            extra=extra,
            tags=("paid",),
            # When the person paid: the payment's own time, else the event's.
            source_time=provider_time(payment.get("created_at")) or provider_time(payload.get("created_at")),
        )
        if ident is None:
            lead.warnings.append("no payment or payment link id in the body; retries are caught by the identical "
                                 "body only")  # fmt: skip
        return [lead]

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        return signed_provider_answer(receipt)
