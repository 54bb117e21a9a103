"""DPDP Act 2023: erasure, export and consent withdrawal for one person.

A person is found by phone or email (the lead their dedupe key points at) or by lead id.

- **Erasure** takes the person out of every item that holds them: the lead keeps only what
  counts anonymously (source, dates, status, routing, city/state/pincode are kept as coarse
  location; name, phone, email, message and extra fields go); raw copies and touchpoints (copies of
  what they sent) are deleted; timeline entries, routing decisions and any other item under the
  lead are scrubbed (the person's fields dropped, their name/phone/email cut out of any text);
  their phone and email dedupe keys are deleted; quarantined, ignored and parked requests that
  mention them are deleted. An erasure record (`ERASURE#<id>`) keeps who asked, when, which leads
  and how many items of each kind were removed, never the person. A second erasure finds nothing
  left to remove and writes nothing.
- **Export** returns everything held about the person as JSON.
- **Consent withdrawal** (`withdraw_consent`) sets the lead's consent to false and appends a ledger
  entry (`CONSENT#<at>#<id>`: when, channel, by whom) and a `lead.consent_withdrawn` timeline
  entry, in one transaction. Marketing and nurture code asks `may_market(lead)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadrelay.clock import iso
from leadrelay.errors import Refused
from leadrelay.events.forward import PII_KEYS
from leadrelay.ids import new_id
from leadrelay.models import Lead, TimelineEvent
from leadrelay.models.contact import ContactError, normalize_email, normalize_phone
from leadrelay.store.dynamo import client, from_item, query_all, to_item
from leadrelay.store.leads import (
    LEAD_SK,
    LIST_IGNORED,
    LIST_QUARANTINE,
    DedupeKey,
    LeadRepository,
    lead_pk,
    timeline_item,
)
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

ERASED = "[erased]"
CONSENT_WITHDRAWN = "lead.consent_withdrawn"
LIST_ERASURES = "ERASURE"
# Lead attributes that are the person; everything else on the lead counts anonymously.
PERSON_ATTRIBUTES = ("name", "phone", "phone_type", "email", "message", "extra", "consent_detail", "alt_phone",
                     "whatsapp_user_id", "whatsapp_username")  # fmt: skip
# Copies of what the person sent, and the search terms made from it (name words, phone, email in
# their keys): deleted outright.
COPY_PREFIXES = ("RAW#", "TOUCH#", "SEARCH#")
# Lists of requests not (yet) on a lead, searched for the person's phone or email.
UNATTACHED_LISTS = (LIST_QUARANTINE, LIST_IGNORED, "PENDING_FETCH")


class PrivacyRefused(Refused):
    """The request names nobody, or names them in a way that cannot be read."""


@dataclass
class Person:
    """How to recognise the person in stored text."""

    phone: str | None = None
    email: str | None = None
    lead_id: str | None = None
    names: set[str] = field(default_factory=set)

    @classmethod
    def from_request(cls, phone: str | None, email: str | None, lead_id: str | None) -> Person:
        if not (phone or email or lead_id):
            raise PrivacyRefused("missing_identifier", "give the person's phone, email or lead_id", 422)
        try:
            return cls(
                phone=normalize_phone(phone)[0] if phone else None,
                email=normalize_email(email) if email else None,
                lead_id=lead_id,
            )
        except ContactError as exc:
            raise PrivacyRefused("invalid_identifier", str(exc), 422) from exc

    def learn(self, lead: Lead) -> None:
        """The lead's own identifiers help find the person in text (a merged phone, the name)."""
        self.phone = self.phone or lead.phone
        self.email = self.email or lead.email
        if lead.name and len(lead.name.strip()) >= 3:
            self.names.add(lead.name.strip())

    def needles(self) -> list[str]:
        found = [n for n in (self.phone, self.email, *self.names) if n]
        if self.phone and self.phone.startswith("+91"):
            found.append(self.phone[3:])  # the ten digits as people type them
        return sorted(set(found), key=len, reverse=True)

    def fingerprint(self) -> str:
        """A one-way mark of what was asked for (not the identifier), for the erasure record."""
        joined = "|".join(n for n in (self.phone, self.email, self.lead_id) if n)
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


def _scrub(value: Any, needles: list[str]) -> Any:
    """`value` without the person's fields, and with their identifiers cut out of any text."""
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items() if str(k).lower() not in PII_KEYS}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    if isinstance(value, str):
        lowered = value.lower()
        for needle in needles:
            if needle.lower() in lowered:
                start = lowered.find(needle.lower())
                while start != -1:
                    value = value[:start] + ERASED + value[start + len(needle) :]
                    lowered = value.lower()
                    start = lowered.find(needle.lower(), start + len(ERASED))
        return value
    return value


def _mentions(item: dict[str, Any], needles: list[str]) -> bool:
    text = repr(item).lower()
    return any(needle.lower() in text for needle in needles)


def may_market(lead: Lead) -> bool:
    """Whether a marketing message or nurture step may go to this lead's person (never after a
    withdrawal; consent never given counts as no)."""
    return lead.consent is True


class PrivacyStore:
    def __init__(self, leads: LeadRepository) -> None:
        self.leads = leads
        self.table = leads.table

    # -- finding ---------------------------------------------------------------------------------

    def _key_owner(self, key: DedupeKey) -> str | None:
        item = client().get_item(TableName=self.table, Key=to_item({"pk": key.pk, "sk": "DEDUPE"})).get("Item")
        owner = from_item(item).get("lead_id") if item else None
        return str(owner) if owner else None

    def _searched(self, person: Person) -> list[str]:
        """Every lead whose search terms hold the phone or email: older leads of the same person
        too (a dedupe key names only the newest lead within its window)."""
        from leadrelay.search import terms_for

        ids: list[str] = []
        for term in terms_for(None, person.phone, person.email):
            for item in query_all(
                TableName=self.table,
                IndexName="by_search",
                KeyConditionExpression="search_pk = :term",
                ExpressionAttributeValues=to_item({":term": term.partition}),
            ):
                lead_id = str(item.get("lead_id") or "")
                if lead_id and lead_id not in ids:
                    ids.append(lead_id)
        return ids

    def find(self, person: Person) -> list[Lead]:
        """The person's leads (still holding anything), their identifiers learnt on the way."""
        ids: list[str] = []
        if person.lead_id:
            ids.append(person.lead_id)
        for kind, value in (("PHONE", person.phone), ("EMAIL", person.email)):
            if value:
                owner = self._key_owner(DedupeKey(kind, value, None))  # type: ignore[arg-type]
                if owner and owner not in ids:
                    ids.append(owner)
        ids += [lead_id for lead_id in self._searched(person) if lead_id not in ids]
        leads = [lead for lead in (self.leads.get(i, consistent=True) for i in ids) if lead is not None]
        for lead in leads:
            person.learn(lead)
        return leads

    def _items(self, lead_id: str) -> list[dict[str, Any]]:
        return query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": lead_pk(lead_id)}),
            ConsistentRead=True,
        )

    def _unattached(self, needles: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for listed in UNATTACHED_LISTS:
            for item in query_all(
                TableName=self.table,
                IndexName="by_received",
                KeyConditionExpression="list_pk = :list",
                ExpressionAttributeValues=to_item({":list": listed}),
            ):
                if _mentions(item, needles):
                    found.append(item)
        return found

    # -- export ----------------------------------------------------------------------------------

    def export(self, person: Person) -> dict[str, Any]:
        """Everything held about the person: each lead with every item under it, and the requests
        not on a lead that mention them."""
        leads = self.find(person)
        return {
            "leads": [{"lead_id": lead.lead_id, "items": self._items(lead.lead_id)} for lead in leads],
            "unattached_requests": self._unattached(person.needles()) if person.needles() else [],
        }

    # -- erasure ---------------------------------------------------------------------------------

    def erase(self, person: Person, *, by: str, now: datetime) -> dict[str, Any]:
        """Remove the person everywhere; the erasure record, or `{"noop": true}` when nothing held
        them any more (a second erasure)."""
        leads = [lead for lead in self.find(person) if not self._already_erased(lead)]
        needles = person.needles()
        removed: dict[str, int] = {}

        def count(kind: str) -> None:
            removed[kind] = removed.get(kind, 0) + 1

        for lead in leads:
            for item in self._items(lead.lead_id):
                sk = str(item["sk"])
                key = {"pk": item["pk"], "sk": sk}
                if sk == LEAD_SK:
                    self._erase_lead(lead, now)
                    count("lead")
                elif sk.startswith(COPY_PREFIXES):
                    client().delete_item(TableName=self.table, Key=to_item(key))
                    count(sk.split("#", 1)[0].lower())
                else:
                    scrubbed = _scrub(item, needles)
                    if scrubbed != item:
                        client().put_item(TableName=self.table, Item=to_item(scrubbed))
                        count(sk.split("#", 1)[0].lower())
            for kind, value in (("PHONE", lead.phone), ("EMAIL", lead.email), ("WAUSER", lead.whatsapp_user_id)):
                if value:
                    key_pk = DedupeKey(kind, value, None).pk  # type: ignore[arg-type]
                    client().delete_item(TableName=self.table, Key=to_item({"pk": key_pk, "sk": "DEDUPE"}))
                    count("dedupe_key")
        for item in self._unattached(needles) if needles else []:
            client().delete_item(TableName=self.table, Key=to_item({"pk": item["pk"], "sk": item["sk"]}))
            count(str(item.get("list_pk", "request")).lower())
        if not removed:
            return {"noop": True, "erasure_id": None, "lead_ids": [], "removed": {}}
        erasure_id = new_id(now)
        record = {
            "pk": f"ERASURE#{erasure_id}", "sk": "ERASURE", "list_pk": LIST_ERASURES,
            "list_sk": f"{iso(now)}#{erasure_id}", "erasure_id": erasure_id, "by": by, "at": now,
            "lead_ids": [lead.lead_id for lead in leads], "removed": removed, "asked_for": person.fingerprint(),
        }  # fmt: skip
        client().put_item(TableName=self.table, Item=to_item(record))
        return {"noop": False, "erasure_id": erasure_id, "lead_ids": record["lead_ids"], "removed": removed,
                "at": iso(now), "by": by}  # fmt: skip

    @staticmethod
    def _already_erased(lead: Lead) -> bool:
        return not (lead.name or lead.phone or lead.email or lead.message or lead.extra)

    def _erase_lead(self, lead: Lead, now: datetime) -> None:
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}),
            UpdateExpression="SET erased_at = :now, version = version + :one REMOVE "
            + ", ".join(f"#a{i}" for i in range(len(PERSON_ATTRIBUTES))),
            ExpressionAttributeNames={f"#a{i}": name for i, name in enumerate(PERSON_ATTRIBUTES)},
            ExpressionAttributeValues=to_item({":now": iso(now), ":one": 1}),
        )

    # -- consent ---------------------------------------------------------------------------------

    def withdraw_consent(
        self,
        lead_id: str,
        *,
        channel: str,
        by: str,
        at: datetime,
        reason: str | None = None,
        ledger_id: str | None = None,
    ) -> bool:
        """Record a withdrawal of consent on the lead; False when this very withdrawal (`ledger_id`,
        e.g. the provider's message id) was recorded before."""
        entry_id = ledger_id or new_id(at)
        detail = {"given": False, "at": at, "source": f"withdrawn via {channel}", "text": reason}
        txn = Transaction()
        txn.update(
            self.table, {"pk": lead_pk(lead_id), "sk": LEAD_SK},
            "SET consent = :no, consent_detail = :detail, consent_withdrawn_at = :at", {":no": False,
            ":detail": {k: v for k, v in detail.items() if v is not None}, ":at": at}, "attribute_exists(pk)",
        )  # fmt: skip
        txn.put(
            self.table,
            {"pk": lead_pk(lead_id), "sk": f"CONSENT#{entry_id}", "lead_id": lead_id, "given": False,
             "channel": channel, "by": by, "at": at, "reason": reason},
            "attribute_not_exists(pk)",
        )  # fmt: skip
        event = TimelineEvent(
            event_id=new_id(at), lead_id=lead_id, at=at, kind=CONSENT_WITHDRAWN, actor=by,
            summary=f"consent withdrawn via {channel}", data={"channel": channel},
        )  # fmt: skip
        txn.put(self.table, timeline_item(event))
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if 0 in failed.failed_conditions():
                raise PrivacyRefused("not_found", f"there is no lead {lead_id!r}", 404) from failed
            if 1 in failed.failed_conditions():
                return False
            raise
        return True

    def consent_ledger(self, lead_id: str) -> list[dict[str, Any]]:
        return query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": lead_pk(lead_id), ":prefix": "CONSENT#"}),
        )
