"""The answers providers expect once every lead of a request is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadrelay.sources.base import Receipt

if TYPE_CHECKING:
    from leadrelay.models.webhook import CaptureResult


def provider_answer(receipt: Receipt, status: int = 200) -> CaptureResult:
    """The answer for providers that want a plain success (Meta, Google, IndiaMART): every lead
    with its outcome, and the lead ids in `X-Lead-Id` (comma-separated for a batch)."""
    from leadrelay.models.webhook import CaptureResult

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
