"""Search terms in the leads table and the `by_search` index that finds leads by them.

Item layout: `LEAD#<id>` / `SEARCH#<kind>#<value>` with `search_pk` (the term's partition) and
`search_sk` (names: `<word>#<received_at>#<id>`; phones and emails: `<received_at>#<id>`), so a
phone or email query reads its own partition newest first and a name prefix reads a
`begins_with` range of its two-letter partition. The items are written in the lead's own
transaction (capture, edits), so a lead is findable from the moment it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadrelay.clock import iso
from leadrelay.models import Lead
from leadrelay.models.search import Query, SearchTerm, terms_for
from leadrelay.store.dynamo import client, decode_cursor, encode_cursor, from_item, to_item
from leadrelay.store.leads import lead_from_item, lead_pk
from leadrelay.store.transactions import Transaction

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
