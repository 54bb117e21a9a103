"""Source adapters: one per provider kind, each turning a provider's request into leads.

An adapter answers four questions about a request (see `SourceAdapter`):
- `handshake`: is this a provider's subscription check (Meta's `hub.*`) rather than a lead?
- `verify`: is the provider's own proof (signature, `google_key`) right? Checked after the source key.
- `decode`: only for bodies that are neither JSON nor a form (XML); by default capture decodes.
- `parse`: which leads does the payload hold? One for most providers; many for a Meta batch or an
  IndiaMART `RESPONSE` array. A lead's provider id is its `external_id` (the dedupe key).
  `parse_request` is the same with the request at hand (Razorpay's event id is a header).
  Something a provider says that is not a lead (a WhatsApp delivery status, a Razorpay event we do
  not take) is a `Notice`: kept raw with the reason, acknowledged, never an error.
- `respond`: what does the provider expect to hear back, once every lead is stored?
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from leadrelay.models import LeadInput, Source, SourceKind

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult, WebhookRequest
    from leadrelay.store.leads import StoreOutcome


class PayloadError(ValueError):
    """The payload cannot become a lead; `code` is the API error code, the message says why."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class PendingFetch:
    """A lead the provider announced by id only, whose details could not be fetched yet (Meta's
    Graph API down). It is parked, never dropped, and fetched again by the followup schedule."""

    external_id: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Notice:
    """Something a provider told us that is not a lead: kept raw with `reason` and acknowledged.
    With a `phone` that belongs to a lead it also goes on that lead's timeline (a WhatsApp
    delivery status for a message we sent that person); `external_id` makes a provider's retry
    of the same notice a duplicate there."""

    reason: str
    summary: str = ""
    phone: str | None = None
    external_id: str | None = None
    # The WhatsApp user id of a user whose phone is withheld (statuses' `recipient_user_id`).
    whatsapp_user_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


ParsedItem = LeadInput | PayloadError | PendingFetch | Notice


@dataclass
class Receipt:
    """What capture did with one request, for the adapter to phrase the provider's answer."""

    request_id: str
    stored: list[StoreOutcome] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    errors: list[PayloadError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Notices kept and acknowledged (their reasons), and the leads whose timeline got one.
    notices: list[str] = field(default_factory=list)
    noted_lead_ids: list[str] = field(default_factory=list)
    # Set when the whole request was refused and kept in quarantine: the error answer.
    rejection: CaptureResult | None = None


class SourceAdapter(Protocol):
    """The interface every provider adapter implements (`BaseAdapter` gives the defaults)."""

    # Accept a top-level JSON array as a batch of leads (IndiaMART).
    accepts_list: bool
    # Top-level body fields that carry the provider's secret (Google's google_key): masked in the
    # raw copy (`sources/secrets.py`).
    body_secrets: frozenset[str]

    def handshake(self, request: WebhookRequest, source: Source) -> CaptureResult | None: ...

    def verify(self, request: WebhookRequest, source: Source) -> None: ...

    def decode(self, request: WebhookRequest) -> dict[str, Any] | None: ...

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]: ...

    def parse_request(self, request: WebhookRequest, payload: dict[str, Any], source: Source) -> list[ParsedItem]: ...

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult: ...


class BaseAdapter:
    """Defaults: no handshake, nothing beyond the source key to verify, the generic answer
    (`202 {"lead_id", "outcome"}` for one lead)."""

    accepts_list = False
    body_secrets: frozenset[str] = frozenset()

    def handshake(self, request: WebhookRequest, source: Source) -> CaptureResult | None:
        return None

    def verify(self, request: WebhookRequest, source: Source) -> None:
        return None

    def decode(self, request: WebhookRequest) -> dict[str, Any] | None:
        """The payload of a body the common decoder cannot read (99acres' XML); None means the
        common JSON / form / query-string decoding applies."""
        return None

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:  # pragma: no cover
        raise NotImplementedError

    def parse_request(self, request: WebhookRequest, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return self.parse(payload, source)

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        from leadrelay.capture import CaptureResult

        if receipt.rejection is not None:
            return receipt.rejection
        first = receipt.stored[0]
        body: dict[str, Any] = {"lead_id": first.lead_id, "outcome": first.outcome}
        if receipt.warnings:
            body["warnings"] = receipt.warnings
        return CaptureResult(202, body, {"X-Lead-Id": first.lead_id})


def provider_answer(receipt: Receipt, status: int = 200) -> CaptureResult:
    """The answer for providers that want a plain success (Meta, Google, IndiaMART): every lead
    with its outcome, and the lead ids in `X-Lead-Id` (comma-separated for a batch)."""
    from leadrelay.capture import CaptureResult

    body: dict[str, Any] = {
        "status": "received",
        "leads": [{"lead_id": s.lead_id, "outcome": s.outcome} for s in receipt.stored],
    }
    if receipt.parked:
        body["pending_fetch"] = receipt.parked
    if receipt.errors:
        body["quarantined"] = [{"error": e.code, "message": str(e)} for e in receipt.errors]
        body["request_id"] = receipt.request_id
    if receipt.warnings:
        body["warnings"] = receipt.warnings
    if receipt.notices:
        body["ignored"] = receipt.notices
        body["request_id"] = receipt.request_id
    if receipt.noted_lead_ids:
        body["noted_on"] = list(dict.fromkeys(receipt.noted_lead_ids))
    headers = {"X-Lead-Id": ",".join(dict.fromkeys(s.lead_id for s in receipt.stored))} if receipt.stored else {}
    return CaptureResult(status, body, headers)


# Refusals about who is calling (signature, handshake token, a secret not configured): a signed
# provider (Meta, WhatsApp, Razorpay) hears these as 401/403; anything else signed is answered 200.
AUTH_CODES = frozenset({"missing_signature", "invalid_signature", "invalid_verify_token", "invalid_handshake",
                        "provider_secret_missing"})  # fmt: skip


def signed_provider_answer(receipt: Receipt) -> CaptureResult:
    """200 for whatever was signed correctly — stored, parked, ignored or quarantined: a retry would
    bring the same bytes, and these providers disable a webhook that keeps failing — but a bad or
    missing signature is the refusal itself (401/403 JSON, the request kept in quarantine)."""
    rejection = receipt.rejection
    if rejection is not None and isinstance(rejection.body, dict) and rejection.body.get("error") in AUTH_CODES:
        return rejection
    answer = provider_answer(receipt)
    if rejection is not None:
        refusal = rejection.body if isinstance(rejection.body, dict) else {"message": rejection.body}
        answer.body = {"status": "quarantined", **refusal}
    return answer


def secret(source: Source, name: str) -> str:
    """A provider secret from the source's settings; a source without it cannot verify anything,
    so its requests are refused (and kept) until it is configured."""
    value = source.settings.get(name)
    if not value or not isinstance(value, str):
        raise PayloadError("provider_secret_missing", f"source {source.source_id!r} has no {name} configured", 403)
    return value


def same_secret(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the configured one."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def adapter_for(kind: SourceKind) -> SourceAdapter | None:
    """The adapter registered for a source kind, or None if that kind is not supported yet."""
    return _registry().get(kind)


def _registry() -> dict[SourceKind, SourceAdapter]:
    from leadrelay.sources.generic import GenericAdapter
    from leadrelay.sources.google_ads import GoogleAdsAdapter
    from leadrelay.sources.housing import HousingAdapter
    from leadrelay.sources.indiamart import IndiaMartAdapter
    from leadrelay.sources.justdial import JustDialAdapter
    from leadrelay.sources.magicbricks import MagicBricksAdapter
    from leadrelay.sources.meta import MetaLeadAdsAdapter
    from leadrelay.sources.ninety_nine_acres import NinetyNineAcresAdapter
    from leadrelay.sources.razorpay import RazorpayAdapter
    from leadrelay.sources.whatsapp import WhatsAppAdapter

    return {
        SourceKind.GENERIC: GenericAdapter(),
        SourceKind.WEB_FORM: GenericAdapter(),
        SourceKind.GOOGLE_ADS: GoogleAdsAdapter(),
        SourceKind.INDIAMART: IndiaMartAdapter(),
        SourceKind.JUSTDIAL: JustDialAdapter(),
        SourceKind.META_LEAD_ADS: MetaLeadAdsAdapter(),
        SourceKind.WHATSAPP: WhatsAppAdapter(),
        SourceKind.RAZORPAY: RazorpayAdapter(),
        SourceKind.NINETY_NINE_ACRES: NinetyNineAcresAdapter(),
        SourceKind.MAGICBRICKS: MagicBricksAdapter(),
        SourceKind.HOUSING: HousingAdapter(),
    }


SUPPORTED_KINDS = (
    SourceKind.GENERIC,
    SourceKind.WEB_FORM,
    SourceKind.GOOGLE_ADS,
    SourceKind.INDIAMART,
    SourceKind.JUSTDIAL,
    SourceKind.META_LEAD_ADS,
    SourceKind.WHATSAPP,
    SourceKind.RAZORPAY,
    SourceKind.NINETY_NINE_ACRES,
    SourceKind.MAGICBRICKS,
    SourceKind.HOUSING,
)
