"""What an adapter is: the interface, its defaults, and what it hands capture (leads, errors,
parked fetches, notices) and gets back (the receipt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from leadrelay.models import LeadInput, Source

if TYPE_CHECKING:
    from leadrelay.models.capture import StoreOutcome
    from leadrelay.models.webhook import CaptureResult, WebhookRequest


class PayloadError(ValueError):
    """The payload cannot become a lead; `code` is the API error code, the message says why."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class FetchNotReady(Exception):
    """A lead the provider announced by id only cannot be fetched yet (its API is down or slow, or
    the source lacks what the fetch needs): it stays parked and is fetched again later."""


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

    def fetch_pending(self, external_id: str, notice: dict[str, Any], source: Source) -> LeadInput: ...


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

    def fetch_pending(self, external_id: str, notice: dict[str, Any], source: Source) -> LeadInput:
        """A lead this provider announced by id only (a `PendingFetch` it parked), fetched now;
        `FetchNotReady` while the provider cannot give it, `PayloadError` when it never will.
        Only providers that announce leads by id (Meta) fetch; the others never park one."""
        raise PayloadError("not_fetchable", f"{source.kind.value} sources do not announce leads by id")

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        from leadrelay.models.webhook import CaptureResult

        if receipt.rejection is not None:
            return receipt.rejection
        first = receipt.stored[0]
        body: dict[str, Any] = {"lead_id": first.lead_id, "outcome": first.outcome}
        if receipt.warnings:
            body["warnings"] = receipt.warnings
        return CaptureResult(202, body, {"X-Lead-Id": first.lead_id})
