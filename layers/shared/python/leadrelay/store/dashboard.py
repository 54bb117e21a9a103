"""The dashboard's counters, the per-item markers that keep them exact, and the activity feed.

Item layout in the org table (pk / sk):
- `DASH#<YYYY-MM>` / `<day>#<team>#<source>#<agent>`   counters of the leads received that day
- `DASHFU#<YYYY-MM>` / `<due day>#<agent>`              follow-ups due that day: open, missed, done
- `DASHMARK#<kind>#<id>` / `MARK`                       what one lead (or follow-up) is counted as
                                                        now: its cell, its counts, the last stream
                                                        record applied (sequence number) and a revision
- `FEED#ALL` | `FEED#T#<team>` | `FEED#A#<agent>` / `<at>#<event id>`   the activity feed (7 days)

Exactly once under redelivery: a record moves the counters from the marker's counts to the new
image's counts, in one transaction with the marker, on condition that the marker is still the
revision read and older than the record. A record seen again finds the marker at its own sequence
number and changes nothing; a record older than one already applied is skipped; a record that failed
while a later one of the same lead succeeded is made good by that later one (its counts replace the
marker's, whatever happened in between). A 90-day read is one Query per month partition.

Contention: two consumers that count the same lead at once race on its marker (the loser reads it
again), and DynamoDB cancels a transaction that meets another one on the same counter cell
(TransactionConflict: today's cell of a busy source is hot). Either way the record waits a random
time under a doubling cap ("full jitter") and is planned again from a fresh read, so 16 consumers
that collided do not collide again in step; after `apply`'s attempts the record fails and the
mapping retries it (definitions.EVENTS_STREAM).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadrelay.clock import iso
from leadrelay.dashboard_counts import (
    Contribution,
    Definitions,
    Marker,
    followup_contribution,
    lead_contribution,
    months_between,
    plan,
    sequence_key,
)
from leadrelay.errors import TransactionFailed
from leadrelay.store import paging
from leadrelay.store.dynamo import client, decode_cursor, encode_cursor, from_item, to_item, to_value
from leadrelay.store.transactions import backoff, run_transaction

if TYPE_CHECKING:  # (loaded when the pipeline is read, not with the events function's hot path)
    from leadrelay.models.pipeline import Pipeline

# Kept apart from store.leads (and the pydantic models it loads): the events function counts with
# this module on its hot path, and its cold start stays as small as forwarding needs.
LIST_LEADS = "LEAD"  # store.leads.LIST_LEADS: the by_received partition of leads

MARK_SK = "MARK"
FEED_DAYS_KEPT = 7
# Entries newer than this may still be joined by slower stream consumers: a feed cursor never
# moves past now minus this, so those come again on the next poll (clients drop repeats by `id`).
FEED_SETTLE = timedelta(seconds=5)
# Timeline kinds the feed leaves out: they say nothing a console acts on.
FEED_SKIPPED_KINDS = frozenset({"lead.duplicate", "lead.provider_notice"})

Kinds = {"lead": lead_contribution, "followup": followup_contribution}

# The waits between attempts of `apply` (store/transactions.py `backoff`: full jitter under a
# doubling cap): 10 ms, 20 ms … up to 0.5 s.
BACKOFF_BASE_S = 0.01
BACKOFF_CAP_S = 0.5


_LIST_KEYS = ("pk", "sk", "list_pk", "list_sk")  # a `by_received` cursor: the table's and the index's keys


def definitions_for(settings: Mapping[str, Any], timezone: str) -> Definitions:
    """The dashboard's definitions from the organisation's settings item (`CONFIG`/`ORG`): days in
    `timezone`, its first-contact SLA (90 minutes when it has none), its custom statuses' categories
    (`status_categories`: status → open, won or lost)."""
    categories = settings.get("status_categories") or {}
    sla = settings.get("first_contact_sla_minutes")
    return Definitions(timezone=timezone, sla_minutes=int(sla) if sla else 90,
                       categories={str(k): str(v) for k, v in dict(categories).items()})  # fmt: skip


def _marker(item: Mapping[str, Any]) -> Marker:
    counted = None
    if item.get("cpk"):
        counted = Contribution(item["cpk"], item["csk"], item.get("keys") or {}, item.get("counts") or {})
    return Marker(counted, str(item.get("seq", sequence_key(None))), int(item.get("rev", 0)))


@dataclass(frozen=True)
class Applied:
    """What applying one item did: `applied` (counters moved), `unchanged` (same counts as
    already counted) or `stale` (the marker has seen this record or a later one)."""

    outcome: str
    cells: int = 0


class DashboardStore:
    """Counters, markers and the feed in the org table; leads read from the leads table."""

    def __init__(self, org_table: str, leads_table: str) -> None:
        self.org_table = org_table
        self.leads_table = leads_table

    # -- counting ------------------------------------------------------------------------------

    def apply(
        self,
        kind: str,
        item_id: str,
        image: Mapping[str, Any] | None,
        definitions: Definitions,
        sequence_number: str | None,
        attempts: int = 10,
    ) -> Applied:
        """Count an item as its image says (None: it is gone). With a `sequence_number` (a stream
        record) the marker must be older than it; without one (a rebuild) the marker's own is kept.
        A moved marker or a write conflict is retried after `backoff`, from a fresh read of the
        marker, up to `attempts` times in all; then RuntimeError (the record is failed and retried)."""
        contribute: Callable[[Mapping[str, Any] | None, Definitions], Contribution | None] = Kinds[kind]
        new = contribute(image, definitions)
        key = to_item({"pk": f"DASHMARK#{kind}#{item_id}", "sk": MARK_SK})
        for attempt in range(attempts):
            if attempt:
                backoff(attempt - 1, BACKOFF_BASE_S, BACKOFF_CAP_S)
            response = client().get_item(TableName=self.org_table, Key=key, ConsistentRead=True)
            marker = _marker(from_item(response["Item"])) if "Item" in response else None
            outcome, written, moves = plan(marker, new, sequence_number)
            if outcome == "stale" or (outcome == "unchanged" and marker is not None and sequence_number is None):
                return Applied(outcome)
            items: list[dict[str, Any]] = []
            values: dict[str, Any] = {"pk": f"DASHMARK#{kind}#{item_id}", "sk": MARK_SK, "seq": written.seq,
                                      "rev": written.rev}  # fmt: skip
            if written.counted is not None:
                counted = written.counted
                values.update(cpk=counted.pk, csk=counted.sk, keys=dict(counted.keys), counts=dict(counted.counts))
            put: dict[str, Any] = {"TableName": self.org_table, "Item": to_item(values)}
            if marker is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "rev = :rev"
                put["ExpressionAttributeValues"] = {":rev": to_value(marker.rev)}
            items.append({"Put": put})
            for move in moves:
                names: dict[str, str] = {}
                exprs: dict[str, Any] = {}
                sets: list[str] = []
                adds: list[str] = []
                for index, (name, value) in enumerate(sorted(move.keys.items())):
                    names[f"#k{index}"], exprs[f":k{index}"] = name, value
                    sets.append(f"#k{index} = :k{index}")
                for index, (name, delta) in enumerate(sorted(move.deltas.items())):
                    names[f"#c{index}"], exprs[f":c{index}"] = name, delta
                    adds.append(f"#c{index} :c{index}")
                items.append({"Update": {
                    "TableName": self.org_table, "Key": to_item({"pk": move.pk, "sk": move.sk}),
                    "UpdateExpression": "SET " + ", ".join(sets) + " ADD " + ", ".join(adds),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {k: to_value(v) for k, v in exprs.items()},
                }})  # fmt: skip
            try:
                run_transaction(items, attempts=1)  # a conflict is retried here, with jitter
            except TransactionFailed as failed:
                if 0 in failed.failed_conditions():
                    continue  # another consumer moved this item's marker: read it again
                if failed.conflicted and not failed.failed_conditions():
                    continue  # another transaction was on the marker or a counter cell
                raise
            return Applied(outcome, len(moves))
        raise RuntimeError(f"the {kind} {item_id} kept changing under the dashboard consumer; retry the record")

    def definitions(self, timezone: str) -> Definitions:
        return self.definitions_and_pipeline(timezone)[0]

    def definitions_and_pipeline(self, timezone: str) -> tuple[Definitions, Pipeline]:
        """The dashboard's definitions as the organisation's settings and pipeline say now (one
        BatchGetItem), and the pipeline: every stage's category (a retired stage's leads count as
        the stage they moved to), then the settings' own `status_categories`. A label is not a
        definition: renaming a stage changes no counter; changing a category is a reason to rebuild."""
        from leadrelay.store.pipeline import PIPELINE_KEY, pipeline_from_item

        org_key = {"pk": "CONFIG", "sk": "ORG"}
        found: dict[str, dict[str, Any]] = {}
        request = {self.org_table: {"Keys": [to_item(org_key), to_item(PIPELINE_KEY)], "ConsistentRead": True}}
        for _ in range(5):
            response = client().batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.org_table, []):
                values = dict(from_item(item))
                found[str(values["sk"])] = values
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        settings = found.get("ORG", {})
        pipeline = pipeline_from_item(found.get(PIPELINE_KEY["sk"]))
        categories = {stage.stage_id: pipeline.stage_of(stage.stage_id).category.value for stage in pipeline.stages}
        settings["status_categories"] = {**categories, **dict(settings.get("status_categories") or {})}
        return definitions_for(settings, timezone), pipeline

    def lead_scope(self, lead_id: str) -> dict[str, Any]:
        """Who may see a lead's events: its team, agent, source and status as the lead stands now."""
        response = client().get_item(
            TableName=self.leads_table,
            Key=to_item({"pk": f"LEAD#{lead_id}", "sk": "LEAD"}),
            ProjectionExpression="assigned_team_id, assigned_agent_id, source_id, #status",
            ExpressionAttributeNames={"#status": "status"},
        )
        return from_item(response["Item"]) if "Item" in response else {}

    # -- reading -------------------------------------------------------------------------------

    def _cells(self, prefix: str, first: date, last: date) -> list[dict[str, Any]]:
        cells: list[dict[str, Any]] = []
        for month in months_between(first, last):
            cells += paging.query_all(
                TableName=self.org_table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues=to_item(
                    {":pk": f"{prefix}#{month}", ":first": first.isoformat(), ":last": f"{last.isoformat()}#\uffff"}
                ),
            )
        return cells

    def lead_cells(self, first: date, last: date, team_id: str | None = None) -> list[dict[str, Any]]:
        """Counter cells of leads received `first`..`last` (org-local days), one team's or all."""
        cells = self._cells("DASH", first, last)
        return cells if team_id is None else [cell for cell in cells if cell.get("team_id") == team_id]

    def followup_cells(self, first: date, last: date) -> list[dict[str, Any]]:
        return self._cells("DASHFU", first, last)

    # -- rebuilding ----------------------------------------------------------------------------

    def lead_items(
        self, since: datetime | None = None, page_size: int = 200, cursor: str | None = None
    ) -> Iterator[tuple[dict[str, Any], str | None]]:
        """Every lead item (received from `since` on), oldest first, a page of the `by_received`
        index at a time (never a Scan), each with the cursor that continues after it."""
        condition = "list_pk = :list"
        values: dict[str, Any] = {":list": LIST_LEADS}
        if since is not None:
            condition += " AND list_sk >= :since"
            values[":since"] = iso(since)
        kwargs: dict[str, Any] = {"TableName": self.leads_table, "IndexName": "by_received",
                                  "KeyConditionExpression": condition,
                                  "ExpressionAttributeValues": to_item(values), "Limit": page_size}  # fmt: skip
        for item in paging.items(kwargs, decode_cursor(cursor)):
            yield item, encode_cursor(to_item({k: item[k] for k in _LIST_KEYS}))

    def rebuild(
        self,
        definitions: Definitions,
        since: datetime | None = None,
        cursor: str | None = None,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> dict[str, Any]:
        """Re-count every lead (received from `since` on) under `definitions`: each lead's marker
        is moved to what it counts as now, so the counters end up as a fresh count would make them,
        while the stream consumer keeps running. Stops when `keep_going()` says so, with `next`, the
        cursor to continue from (None: done)."""
        tally: dict[str, Any] = {"leads": 0, "applied": 0, "unchanged": 0, "next": None}
        for item, position in self.lead_items(since, cursor=cursor):
            outcome = self.apply("lead", str(item["lead_id"]), item, definitions, None)
            tally["leads"] += 1
            tally[outcome.outcome] = tally.get(outcome.outcome, 0) + 1
            if not keep_going():
                tally["next"] = position
                return tally
        return tally

    def leads_received(
        self,
        start: datetime | None,
        end: datetime | None,
        keep: Callable[[dict[str, Any]], bool],
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Lead items received in [start, end), newest first, that `keep` accepts: one range of the
        `by_received` index, read a page at a time until `limit` are found; `cursor` continues."""
        values: dict[str, Any] = {":list": LIST_LEADS, ":start": iso(start) if start else "0",
                                  ":end": iso(end) if end else "9"}  # fmt: skip
        kwargs: dict[str, Any] = {"TableName": self.leads_table, "IndexName": "by_received",
                                  "KeyConditionExpression": "list_pk = :list AND list_sk BETWEEN :start AND :end",
                                  "ExpressionAttributeValues": to_item(values), "ScanIndexForward": False}  # fmt: skip
        return paging.fill_page(kwargs, limit=limit, cursor=cursor, cursor_keys=_LIST_KEYS, keep=keep, batch=200)

    # -- the activity feed ---------------------------------------------------------------------

    def add_to_feed(self, entry: Mapping[str, Any], team_id: str | None, agent_id: str | None) -> None:
        """Put one timeline event in the feeds of everyone who may see it: all (admins), its team's
        (or the unassigned queue's, "-"), its agent's. A repeat puts the same items again."""
        at = datetime.fromisoformat(str(entry["at"]).replace("Z", "+00:00"))
        base = {**entry, "sk": f"{iso(at)}#{entry['id']}",
                "expires_at": int((at + timedelta(days=FEED_DAYS_KEPT)).timestamp())}  # fmt: skip
        scopes = ["ALL", f"T#{team_id or '-'}"] + ([f"A#{agent_id}"] if agent_id else [])
        puts: list[dict[str, Any]] = [{"PutRequest": {"Item": to_item({**base, "pk": f"FEED#{scope}"})}}
                                      for scope in scopes]  # fmt: skip
        for _ in range(5):
            unprocessed = client().batch_write_item(RequestItems={self.org_table: puts}).get("UnprocessedItems") or {}
            puts = unprocessed.get(self.org_table) or []
            if not puts:
                return
        raise RuntimeError("the activity feed did not take every entry; retry the record")

    def feed(self, scopes: Iterable[str], since: str | None, now: datetime, limit: int = 100) -> dict[str, Any]:
        """Feed entries after the cursor `since`, oldest first, from the given scopes ("ALL",
        "T#<team>", "A#<agent>"); `next` is the cursor to poll with."""
        after = decode_feed_cursor(since) if since else iso(now - timedelta(days=1))
        entries: list[dict[str, Any]] = []
        for scope in scopes:
            response = client().query(
                TableName=self.org_table,
                KeyConditionExpression="pk = :pk AND sk > :after",
                ExpressionAttributeValues=to_item({":pk": f"FEED#{scope}", ":after": after}),
                Limit=limit,
            )
            entries += [from_item(item) for item in response.get("Items", [])]
        entries.sort(key=lambda entry: str(entry["sk"]))
        entries = entries[:limit]
        last = str(entries[-1]["sk"]) if entries else after
        settled = iso(now - FEED_SETTLE)
        cursor = min(last, settled) if len(entries) < limit else last
        cursor = max(cursor, after)
        items = [{k: v for k, v in entry.items() if k not in ("pk", "sk", "expires_at")} for entry in entries]
        return {"items": items, "next": encode_feed_cursor(cursor)}


def encode_feed_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode_feed_cursor(cursor: str) -> str:
    """The feed position behind a cursor; raises ValueError for one this API did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        datetime.fromisoformat(text.split("#", 1)[0].replace("Z", "+00:00"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("since is not a cursor this API issued") from exc
    return text
