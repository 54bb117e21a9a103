"""The capture boundary's guards: hostile bodies become a 4xx with the request kept in quarantine,
never a crash (see `leadrelay.limits` for the limits themselves); a provider's opt-out becomes a
consent withdrawal."""

from __future__ import annotations

import json
from typing import Any

from leadrelay import limits
from leadrelay.sources import PayloadError


def json_payload(body: bytes) -> Any:
    """A webhook's JSON body as Python values DynamoDB can hold: nesting past the limit refused
    before parsing (422), non-UTF-8 or malformed JSON refused (400), `NaN`/`Infinity` as no value,
    overflowing numbers and values nested past the stored depth kept as text."""
    try:
        return limits.loads(body)
    except limits.TooDeep as exc:
        raise PayloadError("too_deeply_nested", str(exc), 422) from exc
    except UnicodeDecodeError as exc:
        raise PayloadError(
            "malformed_json", f"the body is not valid JSON: it is not UTF-8 ({exc.reason})", 400
        ) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PayloadError("malformed_json", f"the body is not valid JSON: {exc}", 400) from exc


def withdraw_consent(leads: Any, lead_id: str, data: dict[str, Any], at: Any) -> None:
    """A provider's opt-out notice (WhatsApp STOP) withdraws consent on the lead, once per message
    (the ledger entry is keyed by the provider's message id, so a provider's retry changes nothing)."""
    from leadrelay.privacy import PrivacyRefused, PrivacyStore

    channel = str(data.get("channel") or "provider")
    try:
        PrivacyStore(leads).withdraw_consent(
            lead_id, channel=channel, by=f"{channel}:opt-out", at=at, ledger_id=f"{channel}-{data.get('message_id')}"
        )
    except PrivacyRefused:  # the lead is gone (erased, expired): nothing left to opt out of
        return
