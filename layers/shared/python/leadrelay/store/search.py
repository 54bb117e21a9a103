"""Search terms in the leads table and the `by_search` index that finds leads by them.

Item layout: `LEAD#<id>` / `SEARCH#<kind>#<value>` with `search_pk` (the term's partition) and
`search_sk` (names: `<word>#<received_at>#<id>`; phones and emails: `<received_at>#<id>`), so a
phone or email query reads its own partition newest first and a name prefix reads a
`begins_with` range of its two-letter partition. The items are written in the lead's own
transaction (capture, edits), so a lead is findable from the moment it exists. Leads stored before
the index existed get theirs from the one-off backfill (`SearchBackfill`, `leadrelay search reindex`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadrelay.clock import iso
from leadrelay.models import Lead
from leadrelay.models.search import Query, SearchTerm, terms_for
from leadrelay.store.dynamo import client, decode_cursor, encode_cursor, from_item, to_item
from leadrelay.store.leads import LEAD_SK, lead_from_item, lead_pk
from leadrelay.store.lists import LIST_LEADS
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

INDEX = "by_search"
SEARCH_PREFIX = "SEARCH#"
# Index items read per DynamoDB call, and at most this many calls per page of answers.
READ_BATCH = 100
MAX_READS_PER_PAGE = 10


def _sk(term: SearchTerm) -> str:
    return f"{SEARCH_PREFIX}{term.kind}#{term.value}"


def term_items(lead: Lead) -> list[dict[str, Any]]:
    """The search items of `lead`, one per distinct term."""
    stamp = f"{iso(lead.received_at)}#{lead.lead_id}"
    items: dict[str, dict[str, Any]] = {}
    for term in terms_for(lead.name, lead.phone, lead.email):
        search_sk = f"{term.value}#{stamp}" if term.kind == "NAME" else stamp
        items[_sk(term)] = {"pk": lead_pk(lead.lead_id), "sk": _sk(term), "search_pk": term.partition,
                            "search_sk": search_sk, "lead_id": lead.lead_id}  # fmt: skip
    return list(items.values())


def put_terms(txn: Transaction, table: str, lead: Lead) -> None:
    """Add the lead's search items to a transaction that writes the lead."""
    for item in term_items(lead):
        txn.put(table, item)


def replace_terms(txn: Transaction, table: str, before: Lead, after: Lead) -> None:
    """Bring the search items in line with an edit: remove the terms that went, add the new ones."""
    old = {item["sk"]: item for item in term_items(before)}
    new = {item["sk"]: item for item in term_items(after)}
    for sk in old.keys() - new.keys():
        txn.items.append({"Delete": {"TableName": table, "Key": to_item({"pk": lead_pk(before.lead_id), "sk": sk})}})
    for sk in new.keys() - old.keys():
        txn.put(table, new[sk])


@dataclass
class SearchPage:
    leads: list[Lead]
    next: str | None


class LeadSearch:
    """Reads the `by_search` index, then the leads it names, and keeps those `keep` accepts."""

    def __init__(self, table: str) -> None:
        self.table = table

    def find(self, query: Query, keep: Any, cursor: str | None = None, limit: int = 50) -> SearchPage:
        """Leads matching `query` that `keep(lead)` accepts (the list filters and the caller's
        scope), `limit` at most, continuing from `cursor`. Reads at most MAX_READS_PER_PAGE index
        pages per call: a page may come back short with a `next` cursor, never by reading on and on."""
        term = query.term
        values: dict[str, Any] = {":pk": term.partition}
        condition = "search_pk = :pk"
        if query.prefix:
            condition += " AND begins_with(search_sk, :prefix)"
            values[":prefix"] = term.value
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            # Phones and emails newest first; names in word order, then newest first within a word.
            "ScanIndexForward": query.prefix,
            "Limit": READ_BATCH,
        }
        start = decode_cursor(cursor)
        found: list[Lead] = []
        for _ in range(MAX_READS_PER_PAGE):
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = client().query(**kwargs)
            items = [from_item(item) for item in response.get("Items", [])]
            leads = self._leads([str(item["lead_id"]) for item in items])
            for item in items:
                lead = leads.get(str(item["lead_id"]))
                if lead is not None and query.matches_name(lead.name) and keep(lead):
                    found.append(lead)
                    if len(found) == limit:
                        last = {k: item[k] for k in ("pk", "sk", "search_pk", "search_sk")}
                        is_last = item is items[-1] and "LastEvaluatedKey" not in response
                        return SearchPage(found, None if is_last else encode_cursor(to_item(last)))
            start = response.get("LastEvaluatedKey")
            if not start:
                return SearchPage(found, None)
        return SearchPage(found, encode_cursor(start))

    def _leads(self, lead_ids: list[str]) -> dict[str, Lead]:
        """The leads by id (BatchGetItem, 100 at a time; unprocessed keys retried)."""
        leads: dict[str, Lead] = {}
        unique = list(dict.fromkeys(lead_ids))
        for start in range(0, len(unique), 100):
            keys = [to_item({"pk": lead_pk(lead_id), "sk": "LEAD"}) for lead_id in unique[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": keys}}
            for _ in range(5):
                response = client().batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    lead = lead_from_item(from_item(item))
                    leads[lead.lead_id] = lead
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return leads


@dataclass
class Reindexed:
    """One bounded slice of the search backfill: leads read, leads that got items, items written,
    leads skipped because they changed meanwhile (their own write indexed them), and `next`: the
    cursor to continue from (None: every lead was read)."""

    leads: int = 0
    indexed: int = 0
    items: int = 0
    changed: int = 0
    next: str | None = None


class SearchBackfill:
    """Writes the search items that leads stored before the index existed lack (a maintenance job).

    It reads every lead through the `by_received` index (list_pk "LEAD", oldest first) — no Scan,
    but every lead: run it once, by hand, in bounded slices (`max_leads`, `keep_going`) with a
    resumable cursor. For each page it reads which of the leads' term items exist (BatchGetItem of
    keys only) and, for a lead that lacks some, puts the missing ones in one transaction on
    condition that the lead is still the version read and that each item is still absent. So it is
    idempotent, never rewrites an item a lead already has, and never resurrects a term an edit
    removed meanwhile (the lead's version moved: it is skipped, its edit wrote its own terms)."""

    PAGE = 50

    def __init__(self, table: str) -> None:
        self.table = table

    def run(self, cursor: str | None = None, max_leads: int = 500, keep_going: Any = lambda: True) -> Reindexed:
        done = Reindexed()
        kwargs: dict[str, Any] = {
            "TableName": self.table, "IndexName": "by_received", "KeyConditionExpression": "list_pk = :lead",
            "ExpressionAttributeValues": to_item({":lead": LIST_LEADS}), "ScanIndexForward": True,
        }  # fmt: skip
        start = decode_cursor(cursor)
        while True:
            kwargs["Limit"] = min(self.PAGE, max_leads - done.leads)
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = client().query(**kwargs)
            leads = [lead_from_item(from_item(item)) for item in response.get("Items", [])]
            self._index(leads, done)
            start = response.get("LastEvaluatedKey")
            if not start:
                return done
            if done.leads >= max_leads or not keep_going():
                done.next = encode_cursor(start)
                return done

    def _index(self, leads: list[Lead], done: Reindexed) -> None:
        wanted = {lead.lead_id: term_items(lead) for lead in leads}
        present = self._present([(item["pk"], item["sk"]) for items in wanted.values() for item in items])
        for lead in leads:
            done.leads += 1
            missing = [item for item in wanted[lead.lead_id] if (item["pk"], item["sk"]) not in present]
            if not missing:
                continue
            txn = Transaction()
            txn.items.append({"ConditionCheck": {
                "TableName": self.table, "Key": to_item({"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}),
                "ConditionExpression": "version = :version",
                "ExpressionAttributeValues": to_item({":version": lead.version}),
            }})  # fmt: skip
            for item in missing:
                txn.put(self.table, item, "attribute_not_exists(pk)")
            try:
                run_transaction(txn.items)
            except TransactionFailed:
                done.changed += 1
                continue
            done.indexed += 1
            done.items += len(missing)

    def _present(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these items exist (BatchGetItem of the keys only, 100 at a time)."""
        found: set[tuple[str, str]] = set()
        unique = list(dict.fromkeys(keys))
        for first in range(0, len(unique), 100):
            chunk = [to_item({"pk": pk, "sk": sk}) for pk, sk in unique[first : first + 100]]
            request: dict[str, Any] = {self.table: {"Keys": chunk, "ProjectionExpression": "pk, sk",
                                                    "ConsistentRead": True}}  # fmt: skip
            for _ in range(8):
                response = client().batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    values = from_item(item)
                    found.add((str(values["pk"]), str(values["sk"])))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError("the search backfill could not read which items exist; run it again")
        return found
