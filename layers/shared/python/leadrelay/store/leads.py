"""The leads table's lead repository: leads, their timelines, routing audit, raw requests,
touchpoints and dedupe keys.

Item layout (pk / sk):
- `LEAD#<id>` / `LEAD`                       the lead (streamed to the router while routing is pending)
- `LEAD#<id>` / `TL#<at>#<event id>`         timeline event
- `LEAD#<id>` / `ROUTE#<at>#<decision id>`   routing decision (the audit trail)
- `LEAD#<id>` / `RAW#<at>#<ulid>`            every raw request that concerned the lead
- `LEAD#<id>` / `TOUCH#<at>#<request id>`    a later touchpoint (same person, again)
- `DEDUPE#<kind>#<value>` / `DEDUPE`          identity keys: provider id, body hash, phone, email

Beside them, each family with its own repository: quarantined and ignored requests and pending
fetches (`store/quarantine.py`), the override register (`store/overrides.py`). The transaction
helper is `store/transactions.py`; list keys of `by_received` are `store/lists.py`; reading a
query page by page is `store/paging.py`; the raw request copy is `store/raw.py`. What capture
asks of this repository and what it answers (dedupe keys, outcomes) are `models/capture.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from leadrelay.clock import epoch_ms, iso
from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadStatus, RoutingDecision, RoutingState, TimelineEvent
from leadrelay.models.capture import DedupeKey, LeadAsRead, MergeResult, Reopen, StoreOutcome
from leadrelay.models.source_guard import SourceChanged, SourceGuard
from leadrelay.store import paging
from leadrelay.store.dynamo import client, from_item, to_item
from leadrelay.store.lists import LIST_IGNORED, LIST_LEADS, LIST_QUARANTINE, list_sk  # noqa: F401  (old paths)
from leadrelay.store.overrides import OverrideRegister
from leadrelay.store.quarantine import QuarantineStore
from leadrelay.store.raw import RawRequest, raw_sk
from leadrelay.store.source_records import source_revision_check
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

LEAD_SK = "LEAD"


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def lead_to_item(lead: Lead) -> dict[str, Any]:
    """The lead item, with its list/assignment index keys."""
    values = lead.model_dump(mode="python", exclude_none=True)
    values.update(
        pk=lead_pk(lead.lead_id),
        sk=LEAD_SK,
        list_pk=LIST_LEADS,
        list_sk=list_sk(lead.received_at, lead.lead_id),
    )
    if lead.assigned_agent_id:
        values["agent_pk"] = lead.assigned_agent_id
    if lead.assigned_team_id:
        values["team_pk"] = lead.assigned_team_id
    if lead.routing_state is RoutingState.PENDING and not lead.assigned_agent_id:
        # Waiting for the router: a lead still here minutes later is re-driven by the followup tick.
        values.update(due_pk="ROUTING", due_at=lead.received_at)
    return values


_INDEX_KEYS = ("pk", "sk", "list_pk", "list_sk", "agent_pk", "team_pk", "due_pk", "due_at", "expires_at")


def lead_from_item(values: dict[str, Any]) -> Lead:
    return Lead.model_validate({k: v for k, v in values.items() if k not in _INDEX_KEYS})


class LeadRepository:
    """Reads and writes lead data in the leads table."""

    def __init__(self, table: str) -> None:
        self.table = table

    # -- capture ---------------------------------------------------------------------------------

    def _dedupe_put(self, txn: Transaction, key: DedupeKey, lead_id: str, now: datetime, renew: bool = False) -> None:
        """Claim an identity for a lead. With `renew` (a merge) a key already pointing at this very
        lead is renewed too: a person matching on phone *and* email is one touchpoint."""
        item = {"pk": key.pk, "sk": "DEDUPE", "lead_id": lead_id, "seen_at": now, "seen_ms": epoch_ms(now)}
        if key.window is None:
            txn.put(self.table, item, "attribute_not_exists(pk)")
            return
        if key.kind == "BODY":
            item["expires_at"] = int((now + key.window).timestamp())
        condition = "attribute_not_exists(pk) OR seen_ms < :cutoff"
        values: dict[str, Any] = {":cutoff": epoch_ms(now - key.window)}
        if renew:
            condition += " OR lead_id = :lead"
            values[":lead"] = lead_id
        txn.put(self.table, item, condition, **values)

    def _outcome_from(
        self, failed: TransactionFailed, keys: list[DedupeKey], first_key_index: int
    ) -> tuple[DedupeKey, str] | None:
        """Which identity matched an existing lead, and that lead's id."""
        for index in failed.failed_conditions():
            position = index - first_key_index
            if 0 <= position < len(keys):
                old = failed.reasons[index].get("Item") or {}
                lead_id = from_item(old).get("lead_id") if old else None
                if lead_id:
                    return keys[position], str(lead_id)
        return None

    def create(
        self,
        lead: Lead,
        keys: list[DedupeKey],
        raw: RawRequest,
        created: TimelineEvent,
        guard: SourceGuard | None = None,
    ) -> MergeResult:
        """Store a new lead with its identities in one transaction.

        Returns the outcome, or `(matching key, existing lead id)` when an identity already belongs
        to a lead (the caller decides between duplicate and merge). With `guard`, only if the
        source is still at the revision the capture decided with; else `SourceChanged`, nothing written.
        """
        txn = Transaction()
        txn.put(self.table, lead_to_item(lead), "attribute_not_exists(pk)")
        for key in keys:
            self._dedupe_put(txn, key, lead.lead_id, lead.received_at)
        raw.outcome = "created"
        self._raw_put(txn, lead.lead_id, raw)
        self._timeline_put(txn, created)
        from leadrelay.store.search import put_terms  # (store.search builds on this module)

        put_terms(txn, self.table, lead)  # findable by phone, email and name from the first moment
        return self._settle(txn, keys, StoreOutcome("created", lead.lead_id), guard)

    def merge(
        self,
        lead_id: str,
        keys: list[DedupeKey],
        touch: dict[str, Any],
        raw: RawRequest,
        event: TimelineEvent,
        now: datetime,
        *,
        last_touch: dict[str, Any] | None = None,
        consent: tuple[bool, dict[str, Any]] | None = None,
        guard_open: bool = True,
        reopen: Reopen | None = None,
        guard: SourceGuard | None = None,
    ) -> MergeResult:
        """Add a touchpoint to an existing lead; its identities now point at that lead.

        With `guard_open` the merge holds only while the lead is open: a closed lead comes back as
        `LeadAsRead`, for the caller to apply the returning policy and merge again with `reopen`
        (conditional on the version it read) or without the guard (the lead stays closed)."""
        txn = Transaction()
        sets = ["last_touch_at = :now", "touch_count = if_not_exists(touch_count, :one) + :one"]
        removes: list[str] = []
        values: dict[str, Any] = {":now": now, ":one": 1}
        names: dict[str, str] = {}
        condition = "attribute_exists(pk)"
        if last_touch is not None:
            sets.append("last_touch = :touch")
            values[":touch"] = last_touch
        if consent is not None:
            sets += ["consent = :consent", "consent_detail = :consent_detail"]
            values[":consent"], values[":consent_detail"] = consent
        if reopen is not None:
            names["#status"] = "status"
            condition += " AND version = :version"
            sets += ["#status = :new", "routing_state = :pending", "version = version + :one", "reopened_at = :now",
                     "reopen_count = if_not_exists(reopen_count, :zero) + :one",
                     "last_closed_status = :closed"]  # fmt: skip
            values.update({":version": reopen.version, ":new": LeadStatus.NEW.value, ":zero": 0,
                           ":pending": RoutingState.PENDING.value, ":closed": reopen.closed_status})  # fmt: skip
            sets += ["due_pk = :routing", "due_at = :now"]  # owed to the router again (stuck-lead queue)
            values[":routing"] = "ROUTING"
            if reopen.closed_at is not None:
                sets.append("last_closed_at = :closed_at")
                values[":closed_at"] = reopen.closed_at
            if reopen.return_to_agent_id:
                sets.append("return_to_agent_id = :previous")
                values[":previous"] = reopen.return_to_agent_id
            else:
                removes.append("return_to_agent_id")
            # Open again with nobody: the router assigns it (the team keeps seeing it meanwhile).
            removes += ["closed_at", "close_reason", "assigned_agent_id", "agent_pk", "assigned_at"]
            removes.append("category")  # routing holds it again: the entry stage
        elif guard_open:
            names["#status"] = "status"
            condition += " AND NOT #status IN (:won, :lost) AND NOT category IN (:won, :lost)"
            values.update({":won": LeadStatus.WON.value, ":lost": LeadStatus.LOST.value})
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        txn.update(self.table, {"pk": lead_pk(lead_id), "sk": LEAD_SK}, expression, values, condition,
                   names=names or None)  # fmt: skip
        for key in keys:
            self._dedupe_put(txn, key, lead_id, now, renew=True)
        # Several leads of one batch can touch the same lead in the same millisecond: each is kept.
        txn.put(self.table, {"pk": lead_pk(lead_id), "sk": f"TOUCH#{iso(now)}#{new_id(now)}", **touch})
        raw.outcome = "merged"
        self._raw_put(txn, lead_id, raw)
        self._timeline_put(txn, event)
        if reopen is not None:  # the closed stage holds one lead fewer (routing's `new` is not counted)
            from leadrelay.config import get_settings
            from leadrelay.store.pipeline import count_move

            count_move(txn, get_settings().org_table, reopen.closed_status, LeadStatus.NEW.value)
        return self._settle(txn, keys, StoreOutcome("merged", lead_id), guard)

    def _settle(
        self, txn: Transaction, keys: list[DedupeKey], success: StoreOutcome, guard: SourceGuard | None = None
    ) -> MergeResult:
        """Run a capture transaction whose item 0 is the lead and items 1.. its identities (and,
        with `guard`, whose last item is the condition on the source: `source_revision_check`)."""
        if guard is not None:
            txn.items.append(source_revision_check(guard))
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if guard is not None and len(txn.items) - 1 in failed.failed_conditions():
                raise SourceChanged() from failed  # whatever else failed: decide again first
            if guard is not None and failed.conflicted and not failed.failed_conditions():
                # Still conflicted after run_transaction's retries: the source item is hot (every
                # guarded capture of that source names it, and overlapping transactions on one
                # item conflict on DynamoDB). Decide again on the source read afresh, written
                # without the guard, as every webhook was before the cache: a burst to one source
                # degrades to two calls a lead instead of to 503s.
                raise SourceChanged() from failed
            match = self._outcome_from(failed, keys, 1)
            if match is not None:
                return match
            if 0 in failed.failed_conditions() and success.outcome == "merged":
                old = failed.reasons[0].get("Item")
                if old:
                    return LeadAsRead(lead_from_item(from_item(old)))
            raise
        return success

    def record_duplicate(self, lead_id: str, raw: RawRequest, matched_on: str) -> StoreOutcome:
        """Keep a retried request's raw copy beside the lead it repeats."""
        raw.outcome = "duplicate"
        raw.reason = f"same {matched_on} as an earlier request"
        item = {"pk": lead_pk(lead_id), "sk": raw_sk(raw)}
        item.update(raw.as_attributes())
        client().put_item(TableName=self.table, Item=to_item(item))
        return StoreOutcome("duplicate", lead_id, matched_on)

    def quarantine(self, raw: RawRequest) -> None:
        """Keep a request we could not turn into a lead: see `QuarantineStore.quarantine`."""
        QuarantineStore(self.table).quarantine(raw)

    def keep_ignored(self, raw: RawRequest) -> None:
        """Keep a request that held nothing to capture: see `QuarantineStore.keep_ignored`."""
        QuarantineStore(self.table).keep_ignored(raw)

    def ignored(self, request_id: str) -> dict[str, Any] | None:
        return QuarantineStore(self.table).ignored(request_id)

    def lead_for_phone(self, phone: str, kind: Literal["PHONE", "WAUSER"] = "PHONE") -> str | None:
        """The lead that last claimed this phone (or, with `kind` WAUSER, this WhatsApp user id)."""
        item = (
            client()
            .get_item(TableName=self.table, Key=to_item({"pk": DedupeKey(kind, phone, None).pk, "sk": "DEDUPE"}))
            .get("Item")
        )
        lead_id = from_item(item).get("lead_id") if item else None
        return str(lead_id) if lead_id else None

    def note(self, lead_id: str, key: DedupeKey | None, raw: RawRequest, event: TimelineEvent) -> bool:
        """Put a provider's notice on a lead's timeline with its raw copy; False (and the raw copy
        kept as a duplicate) when `key` says the provider already told us this."""
        txn = Transaction()
        if key is not None:
            self._dedupe_put(txn, key, lead_id, event.at)
        raw.outcome = "notice"
        self._raw_put(txn, lead_id, raw)
        self._timeline_put(txn, event)
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if not failed.failed_conditions():
                raise
            self.record_duplicate(lead_id, raw, "provider notice")
            return False
        return True

    def _raw_put(self, txn: Transaction, lead_id: str, raw: RawRequest) -> None:
        item = {"pk": lead_pk(lead_id), "sk": raw_sk(raw)}
        item.update(raw.as_attributes())
        txn.put(self.table, item)

    def _timeline_put(self, txn: Transaction, event: TimelineEvent) -> None:
        txn.put(self.table, timeline_item(event))

    # -- reads -----------------------------------------------------------------------------------

    def get(self, lead_id: str, consistent: bool = False) -> Lead | None:
        response = client().get_item(
            TableName=self.table,
            Key=to_item({"pk": lead_pk(lead_id), "sk": LEAD_SK}),
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        return lead_from_item(from_item(item)) if item else None

    def _children(self, lead_id: str, prefix: str) -> list[dict[str, Any]]:
        return paging.query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": lead_pk(lead_id), ":prefix": prefix}),
        )

    def timeline(self, lead_id: str) -> list[TimelineEvent]:
        """Every event on the lead, oldest first."""
        return [TimelineEvent.model_validate(item) for item in self._children(lead_id, "TL#")]

    def routing_decisions(self, lead_id: str) -> list[RoutingDecision]:
        """Every routing decision on the lead, oldest first."""
        return [RoutingDecision.model_validate(item) for item in self._children(lead_id, "ROUTE#")]

    def raw_requests(self, lead_id: str) -> list[dict[str, Any]]:
        return self._children(lead_id, "RAW#")

    def touchpoints(self, lead_id: str) -> list[dict[str, Any]]:
        return self._children(lead_id, "TOUCH#")

    def count_due(self, queue: str, now: datetime) -> int:
        """How many items in a due-work queue (sparse index) are due at `now`."""
        return paging.count(
            {
                "TableName": self.table,
                "IndexName": "by_due",
                "KeyConditionExpression": "due_pk = :queue AND due_at <= :now",
                "ExpressionAttributeValues": to_item({":queue": queue, ":now": iso(now)}),
            }
        )

    def overrides_since(self, since: datetime, most: int = 5000, team_id: str | None = None) -> list[dict[str, Any]]:
        """Manual reassignments from `since` on, newest first (at most `most`; only moves to
        `team_id` when given): see `store/overrides.py`."""
        return OverrideRegister(self.table).since(since, most, team_id)

    def received_between(self, since: datetime, until: datetime, most: int = 20_000) -> tuple[list[Lead], bool]:
        """Leads received in [since, until), oldest first, at most `most` of them; and whether
        `most` cut the window short. One range query of `by_received`: its cost grows with the
        leads in the window, not with all leads stored."""
        request = {
            "TableName": self.table,
            "IndexName": "by_received",
            "KeyConditionExpression": "list_pk = :list AND list_sk BETWEEN :since AND :until",
            "ExpressionAttributeValues": to_item({":list": LIST_LEADS, ":since": iso(since), ":until": iso(until)}),
        }
        leads: list[Lead] = []
        for item in paging.items(request):
            lead = lead_from_item(item)
            if lead.received_at >= until:
                continue
            if len(leads) == most:
                return leads, True
            leads.append(lead)
        return leads, False

    def list_leads(
        self,
        *,
        agent_id: str | None = None,
        team_id: str | None = None,
        status: str | list[str] | None = None,
        source_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        tag: str | None = None,
        received_from: datetime | None = None,
        received_to: datetime | None = None,
    ) -> tuple[list[Lead], str | None]:
        """Leads newest first through the narrowest index; `cursor` continues a previous page.
        A received-at range narrows the index read itself (every index sorts by `list_sk`)."""
        if agent_id is not None:
            index, key_name, key_value = "by_agent", "agent_pk", agent_id
        elif team_id is not None:
            index, key_name, key_value = "by_team", "team_pk", team_id
        else:
            index, key_name, key_value = "by_received", "list_pk", LIST_LEADS
        filters, values, names = [], {":key": key_value}, {}
        if status:
            # One status, or several (a stage and the retired stages whose leads count as it).
            statuses = [status] if isinstance(status, str) else status
            filters.append("#status IN (" + ", ".join(f":status{i}" for i in range(len(statuses))) + ")")
            values.update({f":status{i}": one for i, one in enumerate(statuses)})
            names["#status"] = "status"
        if source_id:
            filters.append("source_id = :source_id")
            values[":source_id"] = source_id
        if tag:
            filters.append("contains(tags, :tag)")
            values[":tag"] = tag
        key_condition = f"{key_name} = :key"
        if received_from is not None or received_to is not None:
            key_condition += " AND list_sk BETWEEN :from AND :to"
            # [from, to): "<to>" sorts before "<to>#<id>", and every ISO time before "9".
            values[":from"] = iso(received_from) if received_from else "0"
            values[":to"] = iso(received_to) if received_to else "9"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        # A filter can leave a read short: read more at a time, until the page is full or the index ends.
        batch = max(limit * 2, 20) if filters else None
        items, next_cursor = paging.fill_page(
            kwargs, limit=limit, cursor=cursor, cursor_keys=("pk", "sk", key_name, "list_sk"), batch=batch
        )
        return [lead_from_item(item) for item in items], next_cursor


def timeline_item(event: TimelineEvent) -> dict[str, Any]:
    values = event.model_dump(mode="python")
    values.update(pk=lead_pk(event.lead_id), sk=f"TL#{iso(event.at)}#{event.event_id}")
    return values


def decision_item(decision: RoutingDecision) -> dict[str, Any]:
    values = decision.model_dump(mode="python")
    values.update(pk=lead_pk(decision.lead_id), sk=f"ROUTE#{iso(decision.at)}#{decision.decision_id}")
    return values
