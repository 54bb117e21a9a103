"""The capture service: a webhook request becomes a stored lead, a touchpoint, a duplicate, or quarantine.

Authenticates the source key, hands the request to the source's adapter, stores each lead
(`capture/identity.py`), keeps what holds no lead, and answers once. Replay and pending fetches
are `capture/replay.py` and `capture/pending.py`.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from leadrelay.capture import limits, parsing, pending, replay
from leadrelay.capture.identity import enrich, store_lead
from leadrelay.capture.source_cache import SourceCache, SourceCheck
from leadrelay.clock import Clock
from leadrelay.config import Settings
from leadrelay.ids import new_id
from leadrelay.models import LeadInput, Source, TimelineEvent, TimelineKind
from leadrelay.models.capture import DedupeKey, StoreOutcome
from leadrelay.models.source_guard import SourceChanged
from leadrelay.models.webhook import MANUAL_SOURCE_ID, CaptureResult, WebhookRequest, error
from leadrelay.sources import Notice, PayloadError, PendingFetch, Receipt, adapter_for
from leadrelay.sources.secrets import mask_body
from leadrelay.store.leads import LeadRepository
from leadrelay.store.org import OrgRepository
from leadrelay.store.quarantine import QuarantineStore
from leadrelay.store.raw import RawRequest

logger = logging.getLogger(__name__)


class CaptureService:
    """Authenticates, parses, normalises, dedupes and stores webhook leads."""

    def __init__(
        self,
        *,
        leads: LeadRepository,
        org: OrgRepository,
        clock: Clock,
        settings: Settings,
        sources: SourceCache | None = None,
    ) -> None:
        self.leads = leads
        self.org = org
        self.clock = clock
        self.settings = settings
        # The container's sources (capture/source_cache.py); None: every webhook reads its source.
        self.sources = sources

    def capture(self, request: WebhookRequest) -> CaptureResult:
        """A webhook: with a cached source, decided on it and written on condition that it is still
        current; decided again on the source as it is now when it is not (capture/source_cache.py)."""
        source_id = request.source_id
        cached = self.sources.get(self.org.table, source_id) if self.sources is not None else None
        if cached is not None:
            check = SourceCheck(cached, self.org.source_guard(cached), lambda: self._read_source(source_id))
            try:
                return self._capture(request, check)
            except SourceChanged as changed:  # nothing was written: decide again, on the source as it is
                if self.sources is not None:
                    self.sources.drop(self.org.table, source_id)
                source = changed.current if changed.read else self._read_source(source_id)
        else:
            source = self._read_source(source_id)
        return self._capture(request, SourceCheck.fresh(source) if source is not None else None)

    def _read_source(self, source_id: str) -> Source | None:
        """The source, read strongly (and kept for the next webhook when there is a cache)."""
        source = self.org.get_source(source_id)
        if self.sources is not None:
            if source is None:
                self.sources.drop(self.org.table, source_id)
            else:
                self.sources.put(self.org.table, source)
        return source

    def _capture(self, request: WebhookRequest, check: SourceCheck | None) -> CaptureResult:
        if check is None:
            return error(404, "unknown_source", f"there is no lead source {request.source_id!r}")
        presented = request.presented_key()
        if not presented:
            check.confirm()  # a source deleted meanwhile would be a 404
            return error(401, "missing_key", "send the source key in the X-Api-Key header or the key parameter")
        if not check.source.key_matches(presented):
            check.confirm()  # the key may have just been rotated to this one
            return error(403, "invalid_key", "the key does not match this source")
        return self.process(check.source, request, self._raw(request), check)

    def capture_trusted(self, source: Source, request: WebhookRequest) -> CaptureResult:
        """A request LeadRelay itself made or an admin sent on the source's behalf (a pull poller's
        answer from the provider, a row of a CSV import): no source key is asked for; everything
        else (the adapter's parse, dedupe, raw copy, quarantine) is the same as for a webhook."""
        return self.process(source, request, self._raw(request))

    def capture_manual(
        self, fields: dict[str, Any], *, entered_by: str, keep_for_agent_id: str | None, request_id: str
    ) -> CaptureResult:
        """A lead typed in by a person (walk-in, phone enquiry, referral): the `manual` source's
        path, with the same parse, normalisation, dedupe, raw copy and routing as a webhook. The
        organisation may configure a `manual` source (name, tags, field mapping); if it has none,
        a built-in generic one is used."""
        from leadrelay.models.source import SourceKind

        source = self.org.get_source(MANUAL_SOURCE_ID) or Source(
            source_id=MANUAL_SOURCE_ID, kind=SourceKind.GENERIC, name="manual entry", key_hash="-"
        )
        request = WebhookRequest(
            source_id=source.source_id, method="POST", path="/leads", headers={"content-type": "application/json"},
            query={}, body=json.dumps(fields, ensure_ascii=False, default=str).encode("utf-8"), request_id=request_id,
            entered_by=entered_by, keep_for_agent_id=keep_for_agent_id,
        )  # fmt: skip
        return self.process(source, request, self._raw(request))

    def process(
        self, source: Source, request: WebhookRequest, raw: RawRequest, check: SourceCheck | None = None
    ) -> CaptureResult:
        """Everything after the source key: verify, parse, store each lead, answer once. Without
        `check`, `source` was just read (a replay, a pull, a CSV row, a manual lead); with one,
        whatever is not a lead written under its guard is confirmed first (`SourceCheck.confirm`)."""
        check = check or SourceCheck.fresh(source)
        adapter = adapter_for(source.kind)
        if adapter is not None and not raw.body_base64:  # a secret in the body (Google's google_key)
            raw.body = mask_body(raw.body, adapter.body_secrets, raw.request_id)
        if not source.active:
            return self._reject(raw, 403, "source_disabled", f"source {source.source_id!r} is disabled", check)
        if len(request.body) > self.settings.max_body_bytes:
            return self._reject(
                raw, 413, "payload_too_large",
                f"the body is {len(request.body)} bytes; the limit is {self.settings.max_body_bytes}", check,
            )  # fmt: skip
        if adapter is None:
            return self._reject(
                raw, 422, "unsupported_source_kind", f"source kind {source.kind!r} is not supported yet", check
            )
        receipt = Receipt(raw.request_id)
        try:
            handshake = adapter.handshake(request, source)
            if handshake is not None:  # a subscription check, not a lead: nothing to keep
                check.confirm()
                return handshake
            adapter.verify(request, source)
            payload = adapter.decode(request)
            if payload is None:
                payload = parsing.payload(request, adapter.accepts_list)
            items = adapter.parse_request(request, payload, source)
        except PayloadError as exc:
            receipt.rejection = self._reject(raw, exc.status, exc.code, str(exc), check)
            return adapter.respond(receipt, source)
        errors = [item for item in items if isinstance(item, PayloadError)]
        for index, item in enumerate(items):
            if isinstance(item, LeadInput):
                receipt.stored.append(self._store(source, enrich(item), copy.copy(raw), request, index, check))
                receipt.warnings.extend(item.warnings)
            elif isinstance(item, PendingFetch):
                check.confirm()
                self.quarantine_store.park(source.source_id, item.external_id, item.reason, item.data, raw,
                                           raw.received_at)  # fmt: skip
                receipt.parked.append(item.external_id)
        notices = [item for item in items if isinstance(item, Notice)]
        if notices:
            check.confirm()
            self._notices(source, notices, raw, receipt, kept=bool(receipt.stored or receipt.parked or errors))
        if errors:
            receipt.errors = errors
            message = "; ".join(str(e) for e in errors)
            if receipt.stored or receipt.parked:  # the rest of the batch is in; keep the request for the failures
                self._reject(copy.copy(raw), 422, "partial_batch", message, check)
            else:
                receipt.rejection = self._reject(raw, errors[0].status, errors[0].code, message, check)
        return adapter.respond(receipt, source)

    def _notices(self, source: Source, notices: list[Notice], raw: RawRequest, receipt: Receipt, kept: bool) -> None:
        """Notices are acknowledged; one whose phone belongs to a lead goes on that lead's timeline
        (its raw copy beside the lead); if nothing else kept the request, it is kept as ignored."""
        for notice in notices:
            receipt.notices.append(notice.reason)
            lead_id = self.leads.lead_for_phone(notice.phone) if notice.phone else None
            if lead_id is None and notice.whatsapp_user_id:  # a user known by user id only
                lead_id = self.leads.lead_for_phone(notice.whatsapp_user_id, "WAUSER")
            if lead_id is None:
                continue
            now = raw.received_at
            event = TimelineEvent(
                event_id=new_id(now), lead_id=lead_id, at=now, kind=TimelineKind.PROVIDER_NOTICE.value,
                summary=notice.summary or notice.reason,
                data={"source_id": source.source_id, "request_id": raw.request_id, **notice.data},
            )  # fmt: skip
            key = DedupeKey("EXT", f"{source.source_id}#{notice.external_id}", None) if notice.external_id else None
            noted = copy.copy(raw)
            noted.reason = notice.reason
            if self.leads.note(lead_id, key, noted, event):
                receipt.noted_lead_ids.append(lead_id)
            if notice.data.get("consent_withdrawn"):  # a provider's opt-out (WhatsApp STOP)
                limits.withdraw_consent(self.leads, lead_id, notice.data, now)
            kept = True
        if not kept:
            raw.reason = "; ".join(dict.fromkeys(receipt.notices))
            self.leads.keep_ignored(raw)

    # -- replay and pending fetches --------------------------------------------------------------

    @property
    def quarantine_store(self) -> QuarantineStore:
        return QuarantineStore(self.leads.table)

    def replay(self, request_id: str) -> tuple[CaptureResult, dict[str, Any]]:
        """Run a quarantined request through capture again (`capture/replay.py`)."""
        return replay.replay(self, request_id)

    def retry_pending_fetches(self, now: Any = None, limit: int = 25) -> dict[str, int]:
        """Fetch parked leads whose retry is due (`capture/pending.py`; the followup schedule calls this)."""
        return pending.retry_pending_fetches(self, now, limit)

    # -- storing ---------------------------------------------------------------------------------

    def _raw(self, request: WebhookRequest) -> RawRequest:
        return parsing.raw_copy(request, self.clock.now())

    def _reject(
        self, raw: RawRequest, status: int, code: str, message: str, check: SourceCheck | None = None
    ) -> CaptureResult:
        """Keep the request in quarantine with the reason, and tell the caller what is wrong
        (never on a cached source that moved: `check.confirm()` first)."""
        if check is not None:
            check.confirm()
        raw.error, raw.reason = code, message
        self.leads.quarantine(raw)  # lead.quarantined leaves through the stream
        return CaptureResult(status, {"error": code, "message": message, "request_id": raw.request_id})

    def _store(
        self,
        source: Source,
        lead_input: LeadInput,
        raw: RawRequest,
        request: WebhookRequest,
        index: int = 0,
        check: SourceCheck | None = None,
    ) -> StoreOutcome:
        return store_lead(self.leads, self.org, self.settings, source, lead_input, raw, request, index, check)
