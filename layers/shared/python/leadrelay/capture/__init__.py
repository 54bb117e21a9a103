"""Capture: a webhook request becomes a stored lead, a touchpoint, a duplicate, or quarantine.

Nothing is lost: once a request is authenticated its raw copy is stored whatever the answer, and
the caller always gets a clear answer (202 with the lead id, or a 4xx naming the problem).

The flow for every source kind: source key → the adapter's handshake (Meta's `hub.*`) → the
adapter's own verification (signature, `google_key`) → payload → the adapter's leads (one, or a
batch) → each lead normalised, deduped and stored on its own → the adapter's answer, once.
A request an adapter refuses is quarantined with the reason and can be replayed (`replay`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from leadrelay.capture import limits
from leadrelay.clock import Clock, epoch_ms
from leadrelay.config import Settings
from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadInput, RoutingState, Source, TimelineEvent, TimelineKind
from leadrelay.models.contact import language_from_script, normalize_state
from leadrelay.models.lead import Consent, Touch
from leadrelay.sources import Notice, PayloadError, PendingFetch, Receipt, adapter_for
from leadrelay.sources.secrets import SECRET_HEADERS, SECRET_PARAMS, mask_body
from leadrelay.store.leads import DedupeKey, LeadAsRead, LeadRepository, MergeResult, RawRequest, Reopen, StoreOutcome
from leadrelay.store.org import OrgRepository
from leadrelay.store.quarantine import QuarantineStore

logger = logging.getLogger(__name__)

KEY_HEADER = "x-api-key"
# Leads entered by hand (POST /leads) come from this source.
MANUAL_SOURCE_ID = "manual"
KEY_PARAM = "key"
_SECRET_HEADERS = SECRET_HEADERS
_MASK = "***"


@dataclass
class WebhookRequest:
    """An HTTP request as the gateway delivered it."""

    source_id: str
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    query: dict[str, list[str]]
    body: bytes
    request_id: str
    body_was_base64: bool = False
    # A lead entered by hand (POST /leads): who entered it (the timeline's actor), and the agent who
    # keeps it when they asked to (routing offers it to them first, as to a returning lead's owner).
    entered_by: str | None = None
    keep_for_agent_id: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def presented_key(self) -> str | None:
        if self.headers.get(KEY_HEADER):
            return self.headers[KEY_HEADER]
        values = self.query.get(KEY_PARAM)
        return values[0] if values else None


@dataclass
class CaptureResult:
    """The answer for the provider: status, body (JSON object, or text for a provider that wants
    text: JustDial's acknowledgement, Meta's challenge), extra headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class ReplayError(Refused):
    """A quarantined request that cannot be replayed; `status` and `code` say why."""


def error(status: int, code: str, message: str) -> CaptureResult:
    return CaptureResult(status, {"error": code, "message": message})


class CaptureService:
    """Authenticates, parses, normalises, dedupes and stores webhook leads."""

    def __init__(
        self,
        *,
        leads: LeadRepository,
        org: OrgRepository,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.leads = leads
        self.org = org
        self.clock = clock
        self.settings = settings

    def capture(self, request: WebhookRequest) -> CaptureResult:
        source = self.org.get_source(request.source_id)
        if source is None:
            return error(404, "unknown_source", f"there is no lead source {request.source_id!r}")
        presented = request.presented_key()
        if not presented:
            return error(401, "missing_key", "send the source key in the X-Api-Key header or the key parameter")
        if not source.key_matches(presented):
            return error(403, "invalid_key", "the key does not match this source")
        return self._process(source, request, self._raw(request))

    def capture_trusted(self, source: Source, request: WebhookRequest) -> CaptureResult:
        """A request LeadRelay itself made or an admin sent on the source's behalf (a pull poller's
        answer from the provider, a row of a CSV import): no source key is asked for; everything
        else (the adapter's parse, dedupe, raw copy, quarantine) is the same as for a webhook."""
        return self._process(source, request, self._raw(request))

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
        return self._process(source, request, self._raw(request))

    def _process(self, source: Source, request: WebhookRequest, raw: RawRequest) -> CaptureResult:
        """Everything after the source key: verify, parse, store each lead, answer once."""
        adapter = adapter_for(source.kind)
        if adapter is not None and not raw.body_base64:  # a secret in the body (Google's google_key)
            raw.body = mask_body(raw.body, adapter.body_secrets, raw.request_id)
        if not source.active:
            return self._reject(raw, 403, "source_disabled", f"source {source.source_id!r} is disabled")
        if len(request.body) > self.settings.max_body_bytes:
            return self._reject(
                raw, 413, "payload_too_large",
                f"the body is {len(request.body)} bytes; the limit is {self.settings.max_body_bytes}",
            )  # fmt: skip
        if adapter is None:
            return self._reject(
                raw, 422, "unsupported_source_kind", f"source kind {source.kind!r} is not supported yet"
            )
        receipt = Receipt(raw.request_id)
        try:
            handshake = adapter.handshake(request, source)
            if handshake is not None:  # a subscription check, not a lead: nothing to keep
                return handshake
            adapter.verify(request, source)
            payload = adapter.decode(request)
            if payload is None:
                payload = self._payload(request, adapter.accepts_list)
            items = adapter.parse_request(request, payload, source)
        except PayloadError as exc:
            receipt.rejection = self._reject(raw, exc.status, exc.code, str(exc))
            return adapter.respond(receipt, source)
        errors = [item for item in items if isinstance(item, PayloadError)]
        for index, item in enumerate(items):
            if isinstance(item, LeadInput):
                receipt.stored.append(self._store(source, enrich(item), copy.copy(raw), request, index))
                receipt.warnings.extend(item.warnings)
            elif isinstance(item, PendingFetch):
                self.quarantine_store.park(source.source_id, item.external_id, item.reason, item.data, raw,
                                           raw.received_at)  # fmt: skip
                receipt.parked.append(item.external_id)
        notices = [item for item in items if isinstance(item, Notice)]
        if notices:
            self._notices(source, notices, raw, receipt, kept=bool(receipt.stored or receipt.parked or errors))
        if errors:
            receipt.errors = errors
            message = "; ".join(str(e) for e in errors)
            if receipt.stored or receipt.parked:  # the rest of the batch is in; keep the request for the failures
                self._reject(copy.copy(raw), 422, "partial_batch", message)
            else:
                receipt.rejection = self._reject(raw, errors[0].status, errors[0].code, message)
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
        """Run a quarantined request through capture again (after a mapping or secret fix).

        The source key is not checked again (it was right the first time, and an admin asks);
        the provider's verification is. Idempotent: a request already replayed into leads answers
        with the same leads, and the leads' dedupe keys make a second run a duplicate anyway.
        Returns the capture answer and the quarantined item as it now stands.
        """
        store = self.quarantine_store
        item = store.get(request_id)
        if item is None:
            raise ReplayError("not_found", f"there is no quarantined request {request_id!r}", 404)
        if item.get("replayed_lead_ids"):
            ids = list(item["replayed_lead_ids"])
            return CaptureResult(200, {"lead_ids": ids, "outcome": "already_replayed"}), item
        if item.get("body_truncated"):
            raise ReplayError("body_truncated", "the kept body was truncated, so it cannot be replayed")
        source = self.org.get_source(str(item["source_id"]))
        if source is None:
            raise ReplayError("unknown_source", f"source {item['source_id']!r} no longer exists")
        body_text = str(item.get("body") or "")
        body = base64.b64decode(body_text) if item.get("body_base64") else body_text.encode("utf-8")
        query = {k: [str(v)] for k, v in (item.get("query") or {}).items() if k != KEY_PARAM}
        request = WebhookRequest(
            source_id=source.source_id, method=str(item.get("method") or "POST"), path=str(item.get("path") or ""),
            headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()}, query=query, body=body,
            request_id=request_id,
        )  # fmt: skip
        raw = self._raw(request)
        raw.headers, raw.query = dict(request.headers), {k: ",".join(v) for k, v in request.query.items()}
        # A replay that fails again rewrites the quarantined copy: it keeps its place in the list.
        raw.received_at = _received_at(item, raw.received_at)
        result = self._process(source, request, raw)
        lead_ids = _lead_ids(result)
        answer = result.body if isinstance(result.body, dict) else {}
        now = self.clock.now()
        if answer.get("error") or answer.get("quarantined") or (not lead_ids and not answer.get("pending_fetch")):
            store.record_failed_replay(request_id, item, str(answer.get("error") or "quarantined"), now)
        elif lead_ids:
            store.mark_replayed(request_id, "replayed", lead_ids, now)
        else:  # Meta's lead announced again, its details still to fetch: parked, not lost
            store.mark_replayed(request_id, "pending_fetch", [], now)
        return result, store.get(request_id) or item

    def retry_pending_fetches(self, now: Any = None, limit: int = 25) -> dict[str, int]:
        """Fetch parked leads whose retry is due (the followup schedule calls this every minute)."""
        from leadrelay.sources.graph import GraphError
        from leadrelay.sources.meta import fetch

        store = self.quarantine_store
        now = now or self.clock.now()
        counts = {"fetched": 0, "still_pending": 0, "refused": 0}
        for item in store.due(now, limit):
            source = self.org.get_source(str(item.get("source_id")))
            attempts = int(item.get("attempts") or 1) + 1
            if source is None:
                store.reschedule(item["pk"], attempts, "the source no longer exists", now)
                counts["still_pending"] += 1
                continue
            notice = dict(item.get("notice") or {})
            try:
                lead_input = fetch(str(item["external_id"]), notice, source, attempts=1)
            except GraphError as exc:
                store.reschedule(item["pk"], attempts, str(exc), now)
                counts["still_pending"] += 1
                continue
            except PayloadError as exc:
                store.reschedule(item["pk"], attempts, f"{exc.code}: {exc}", now)
                counts["refused"] += 1
                continue
            raw = _raw_from_item(item, now)
            request = WebhookRequest(
                source_id=source.source_id, method=raw.method, path=raw.path, headers=raw.headers, query={},
                body=raw.body.encode("utf-8"), request_id=raw.request_id,
            )  # fmt: skip
            outcome = self._store(source, enrich(lead_input), raw, request, 0)
            store.resolve(item["pk"], outcome.lead_id, outcome.outcome, now)
            counts["fetched"] += 1
        return counts

    # -- parsing ---------------------------------------------------------------------------------

    def _payload(self, request: WebhookRequest, accepts_list: bool = False) -> dict[str, Any]:
        """Fields from the query string (GET) or the JSON / form body (POST)."""
        fields: dict[str, Any] = {}
        if request.method == "GET":
            for name, values in request.query.items():
                if name.lower() not in SECRET_PARAMS:  # a credential is never a lead field
                    fields[name] = values[0] if len(values) == 1 else values
            return fields
        if not request.body.strip():
            raise PayloadError("empty_body", "the request has no body; send the lead as JSON or a form", 400)
        kind = request.content_type
        if (
            kind in ("application/json", "text/json")
            or kind.endswith("+json")
            or (not kind and request.body.lstrip()[:1] in (b"{", b"["))
        ):
            data = limits.json_payload(request.body)
            if isinstance(data, list) and accepts_list:
                data = {"RESPONSE": data}
            if not isinstance(data, dict):
                raise PayloadError("invalid_body", f"expected a JSON object, got a JSON {type(data).__name__}")
            return self._with_query(data, request)
        if kind in ("application/x-www-form-urlencoded", ""):
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PayloadError("invalid_encoding", "a form body must be UTF-8", 400) from exc
            parsed = parse_qs(text, keep_blank_values=True)
            if not parsed:
                raise PayloadError("invalid_body", "the form body has no fields", 400)
            fields = {name: values[0] if len(values) == 1 else values for name, values in parsed.items()}
            return self._with_query(fields, request)
        raise PayloadError(
            "unsupported_media_type",
            f"content type {kind!r} is not accepted; send application/json or application/x-www-form-urlencoded",
            415,
        )

    @staticmethod
    def _with_query(fields: dict[str, Any], request: WebhookRequest) -> dict[str, Any]:
        """Query parameters (e.g. UTM tags on the webhook URL) fill fields the body leaves out."""
        for name, values in request.query.items():
            if name.lower() not in SECRET_PARAMS and name not in fields:
                fields[name] = values[0] if len(values) == 1 else values
        return fields

    # -- storing ---------------------------------------------------------------------------------

    def _raw(self, request: WebhookRequest) -> RawRequest:
        headers = {k: (_MASK if k in _SECRET_HEADERS else v) for k, v in request.headers.items()}
        query = {k: (_MASK if k.lower() in SECRET_PARAMS else ",".join(v)) for k, v in request.query.items()}
        if request.body_was_base64:
            body, is_b64 = base64.b64encode(request.body).decode(), True
        else:
            try:
                body, is_b64 = request.body.decode("utf-8"), False
            except UnicodeDecodeError:
                body, is_b64 = base64.b64encode(request.body).decode(), True
        return RawRequest(
            request_id=request.request_id,
            source_id=request.source_id,
            received_at=self.clock.now(),
            method=request.method,
            path=request.path,
            headers=headers,
            query=query,
            body=body,
            body_base64=is_b64,
        )

    def _reject(self, raw: RawRequest, status: int, code: str, message: str) -> CaptureResult:
        """Keep the request in quarantine with the reason, and tell the caller what is wrong."""
        raw.error, raw.reason = code, message
        self.leads.quarantine(raw)  # lead.quarantined leaves through the stream
        return CaptureResult(status, {"error": code, "message": message, "request_id": raw.request_id})

    def _keys(self, source: Source, lead_input: LeadInput, request: WebhookRequest, index: int = 0) -> list[DedupeKey]:
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
                          timedelta(hours=self.settings.retry_window_hours))
            )  # fmt: skip
        window = timedelta(days=self.settings.dedupe_window_days)
        # A provider's test lead claims no phone/email: the real person later is a lead of their own.
        if self.settings.dedupe_window_days > 0 and not lead_input.test:
            if lead_input.phone:
                keys.append(DedupeKey("PHONE", lead_input.phone, window))
            if lead_input.email:
                keys.append(DedupeKey("EMAIL", lead_input.email, window))
            # WhatsApp's business-scoped user id: the identity of a user whose phone is withheld.
            if lead_input.whatsapp_user_id:
                keys.append(DedupeKey("WAUSER", lead_input.whatsapp_user_id, window))
        return keys

    def _store(
        self, source: Source, lead_input: LeadInput, raw: RawRequest, request: WebhookRequest, index: int = 0
    ) -> StoreOutcome:
        now = raw.received_at
        _stamp_consent(lead_input, source, now)
        keys = self._keys(source, lead_input, request, index)
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
            summary=f"lead entered by {request.entered_by}"
            if request.entered_by
            else f"lead received from {source.name}",
            data={
                "source_id": source.source_id,
                "request_id": raw.request_id,
                "attribution": lead.attribution.model_dump(exclude_none=True),
                **({"entered_by": request.entered_by} if request.entered_by else {}),
                **({"kept_by": request.keep_for_agent_id} if request.keep_for_agent_id else {}),
            },
        )
        result: MergeResult = self.leads.create(lead, keys, raw, created)
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
                    result = self.leads.record_duplicate(
                        existing_id, raw, "external_id" if key.kind == "EXT" else "request body"
                    )
                    break
                # Keys that matched another lead (phone → one lead, email → another) stay with it.
                matched.add(key.pk)
                closed = None
            assert key is not None
            result = self._merge(source, lead_input, raw, existing_id, key, [k for k in keys if k.pk not in matched],
                                 closed, actor=request.entered_by)  # fmt: skip
        if not isinstance(result, StoreOutcome):  # pragma: no cover - identities kept moving
            raise RuntimeError("could not settle the lead's identity after six tries")
        # lead.created / lead.merged / lead.reopened leave through the stream (their timeline entries).
        return result

    def _merge(
        self,
        source: Source,
        lead_input: LeadInput,
        raw: RawRequest,
        lead_id: str,
        key: DedupeKey,
        merge_keys: list[DedupeKey],
        closed: Lead | None,
        actor: str | None = None,
    ) -> MergeResult:
        """The same person again: a touchpoint on `lead_id` (the last touch for attribution, and
        new consent if the person gave any). A closed lead is reopened or left closed by the
        organisation's returning policy; an open one is merged on condition that it is still open."""
        now = raw.received_at
        reopen: Reopen | None = None
        summary = f"the same person again from {source.name} (matched on {key.kind.lower()})"
        data: dict[str, Any] = {"source_id": source.source_id, "request_id": raw.request_id,
                                "matched_on": key.kind.lower(),
                                "attribution": lead_input.attribution.model_dump(exclude_none=True)}  # fmt: skip
        if lead_input.message:
            data["message"] = lead_input.message
        if closed is not None:
            policy = self.org.get_org_settings().returning
            status = closed.status.value
            if policy.reopens(closed.status):
                previous = closed.assigned_agent_id if policy.to_previous_agent else None
                reopen = Reopen(closed.version, status, closed.closed_at, previous)
                summary += f"; the {status} lead is reopened"
                summary += f" and offered to its previous owner {previous} first" if previous else " and routed again"
                data.update(reopened=True, closed_status=status, return_to_agent_id=previous)
            else:
                summary += f"; the lead stays {status} (the returning policy does not reopen {status} leads)"
                data.update(reopened=False, closed_status=status)
        event = TimelineEvent(
            event_id=new_id(now), lead_id=lead_id, at=now,
            kind=(TimelineKind.REOPENED if reopen else TimelineKind.TOUCHPOINT).value, summary=summary, data=data,
            actor=actor or "system",
        )  # fmt: skip
        touch = {
            "source_id": source.source_id, "at": now, "request_id": raw.request_id,
            "fields": lead_input.model_dump(mode="python", exclude_none=True, exclude={"warnings"}),
        }  # fmt: skip
        last_touch = Touch(source_id=source.source_id, source_kind=source.kind.value, at=now,
                           request_id=raw.request_id, attribution=lead_input.attribution)  # fmt: skip
        detail = lead_input.consent_detail
        result = self.leads.merge(
            lead_id, merge_keys, touch, raw, event, now,
            last_touch=last_touch.model_dump(mode="python", exclude_none=True),
            consent=(detail.given, detail.model_dump(mode="python", exclude_none=True)) if detail else None,
            guard_open=closed is None, reopen=reopen,
        )  # fmt: skip
        if isinstance(result, StoreOutcome) and reopen is not None:
            result.reopened, result.return_to_agent_id = True, reopen.return_to_agent_id
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


def _received_at(item: dict[str, Any], default: Any) -> Any:
    from leadrelay.clock import parse_iso

    try:
        return parse_iso(str(item["received_at"]))
    except (KeyError, ValueError):
        return default


def _lead_ids(result: CaptureResult) -> list[str]:
    header = result.headers.get("X-Lead-Id", "")
    return [i for i in header.split(",") if i]


def _raw_from_item(item: dict[str, Any], now: Any) -> RawRequest:
    """The raw notification kept with a pending fetch, to store beside the lead it became."""
    return RawRequest(
        request_id=str(item.get("request_id") or item["pk"]),
        source_id=str(item.get("source_id")),
        received_at=now,
        method=str(item.get("method") or "POST"),
        path=str(item.get("path") or ""),
        headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
        query={str(k): str(v) for k, v in (item.get("query") or {}).items()},
        body=str(item.get("body") or ""),
        body_base64=bool(item.get("body_base64")),
    )
