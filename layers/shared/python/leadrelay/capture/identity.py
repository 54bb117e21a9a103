"""Who a lead is: its identities (dedupe keys), and storing it as new, a duplicate or a touchpoint."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from leadrelay.capture.reopen import merge_touchpoint
from leadrelay.capture.source_cache import SourceCheck
from leadrelay.clock import epoch_ms
from leadrelay.config import Settings
from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadInput, RoutingState, Source, TimelineEvent, TimelineKind
from leadrelay.models.capture import DedupeKey, LeadAsRead, MergeResult, StoreOutcome
from leadrelay.models.contact import language_from_script, normalize_state
from leadrelay.models.lead import Consent
from leadrelay.models.webhook import WebhookRequest
from leadrelay.sources.secrets import SECRET_PARAMS
from leadrelay.store.leads import LeadRepository
from leadrelay.store.org import OrgRepository
from leadrelay.store.raw import RawRequest


def dedupe_keys(
    settings: Settings, source: Source, lead_input: LeadInput, request: WebhookRequest, index: int = 0
) -> list[DedupeKey]:
    """The identities a lead claims: the provider id (or a retry window on the body), then phone,
    email and WhatsApp user id within the dedupe window."""
    keys: list[DedupeKey] = []
    if lead_input.external_id:
        keys.append(DedupeKey("EXT", f"{source.source_id}#{lead_input.external_id}", None))
    else:
        digest = hashlib.sha256(request.body + request.method.encode())
        for name in sorted(request.query):
            if name.lower() not in SECRET_PARAMS:
                digest.update(f"&{name}={request.query[name]}".encode())
        if index:  # the n-th lead of a batch without provider ids is its own lead
            digest.update(f"#{index}".encode())
        keys.append(
            DedupeKey("BODY", f"{source.source_id}#{digest.hexdigest()}",
                      timedelta(hours=settings.retry_window_hours))
        )  # fmt: skip
    window = timedelta(days=settings.dedupe_window_days)
    # A provider's test lead claims no phone/email: the real person later is a lead of their own.
    if settings.dedupe_window_days > 0 and not lead_input.test:
        if lead_input.phone:
            keys.append(DedupeKey("PHONE", lead_input.phone, window))
        if lead_input.email:
            keys.append(DedupeKey("EMAIL", lead_input.email, window))
        # WhatsApp's business-scoped user id: the identity of a user whose phone is withheld.
        if lead_input.whatsapp_user_id:
            keys.append(DedupeKey("WAUSER", lead_input.whatsapp_user_id, window))
    return keys


def store_lead(
    leads: LeadRepository,
    org: OrgRepository,
    settings: Settings,
    source: Source,
    lead_input: LeadInput,
    raw: RawRequest,
    request: WebhookRequest,
    index: int = 0,
    check: SourceCheck | None = None,
) -> StoreOutcome:
    """Store a lead, or settle which lead it is: a retry is a duplicate, the same person again a
    touchpoint (`capture/reopen.py`); identities that move meanwhile are tried again, six times.
    With `check` (a cached source), the new lead and the touchpoint are written on its guard and a
    duplicate only after confirming the source (`SourceChanged` when it moved; nothing written)."""
    now = raw.received_at
    _stamp_consent(lead_input, source, now)
    keys = dedupe_keys(settings, source, lead_input, request, index)
    lead = Lead(
        **lead_input.model_dump(exclude={"warnings"}),
        # A provider's test lead is kept but owes the router nothing (the stream filter skips it),
        # unless the source routes test leads (to watch "Send test data" ring a phone).
        routing_state=RoutingState.DONE if lead_input.test and not _routes_tests(source) else RoutingState.PENDING,
        lead_id=new_id(now),
        source_id=source.source_id,
        source_kind=source.kind.value,
        received_at=now,
        last_touch_at=now,
        received_ms=epoch_ms(now),
        return_to_agent_id=request.keep_for_agent_id,
    )
    created = TimelineEvent(
        event_id=new_id(now),
        lead_id=lead.lead_id,
        at=now,
        kind=TimelineKind.CREATED.value,
        actor=request.entered_by or "system",
        summary=f"lead entered by {request.entered_by}" if request.entered_by else f"lead received from {source.name}",
        data={
            "source_id": source.source_id,
            "request_id": raw.request_id,
            "attribution": lead.attribution.model_dump(exclude_none=True),
            **({"entered_by": request.entered_by} if request.entered_by else {}),
            **({"kept_by": request.keep_for_agent_id} if request.keep_for_agent_id else {}),
        },
    )
    result: MergeResult = leads.create(lead, keys, raw, created, guard=check.guard() if check else None)
    # An identity matched: a retry is a duplicate; the same person again is a touchpoint.
    matched: set[str] = set()
    key: DedupeKey | None = None
    existing_id = ""
    closed: Lead | None = None  # the matched lead, when it turned out to be closed
    for _ in range(6):
        if isinstance(result, StoreOutcome):
            break
        if isinstance(result, LeadAsRead):  # the lead is closed (or was reopened meanwhile)
            closed = result.lead if result.lead.is_closed else None
        else:
            key, existing_id = result
            if key.is_retry_key:
                if check is not None:
                    check.confirm()
                result = leads.record_duplicate(
                    existing_id, raw, "external_id" if key.kind == "EXT" else "request body"
                )
                break
            # Keys that matched another lead (phone → one lead, email → another) stay with it.
            matched.add(key.pk)
            closed = None
        assert key is not None
        result = merge_touchpoint(leads, org, source, lead_input, raw, existing_id, key,
                                  [k for k in keys if k.pk not in matched], closed,
                                  actor=request.entered_by, guard=check.guard() if check else None)  # fmt: skip
    if not isinstance(result, StoreOutcome):  # pragma: no cover - identities kept moving
        raise RuntimeError("could not settle the lead's identity after six tries")
    if check is not None:
        check.written()  # (a duplicate was confirmed; a lead or a touchpoint committed on the guard)
    # lead.created / lead.merged / lead.reopened leave through the stream (their timeline entries).
    return result


def _routes_tests(source: Source) -> bool:
    return source.settings.get("route_test_leads") is True


def _stamp_consent(lead_input: LeadInput, source: Source, now: Any) -> None:
    """Consent without details still gets its proof: when and where we received it."""
    if lead_input.consent is not None and lead_input.consent_detail is None:
        lead_input.consent_detail = Consent(given=lead_input.consent, source=f"{source.source_id}: consent field")
    detail = lead_input.consent_detail
    if detail is not None:
        lead_input.consent = detail.given
        if detail.at is None:
            detail.at = now
        if detail.source is None:
            detail.source = source.source_id


def enrich(lead_input: LeadInput) -> LeadInput:
    """What every adapter's lead gets: the state's official name and ISO 3166-2:IN code, and a
    language hint from the script of the name or message when the source sent no language."""
    if lead_input.state and not lead_input.state_code:
        known = normalize_state(lead_input.state)
        if known:
            lead_input.state, lead_input.state_code = known
    if not lead_input.language:
        lead_input.language = language_from_script(lead_input.name, lead_input.message)
    return lead_input
