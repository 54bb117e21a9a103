"""Editing a lead by hand: its fields, tags, custom fields and notes, with history.

Every edit is one transaction: the lead (on condition that it has not changed since it was read,
so two people editing at once cannot silently overwrite each other) and one timeline entry that
says what changed from what to what, by whom. A note is a timeline entry of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Lead, TimelineEvent
from leadrelay.models.lead_edit import LEAD_NOTE, LEAD_UPDATED, LeadEdit, changes_of
from leadrelay.store.dynamo import to_item
from leadrelay.store.leads import LEAD_SK, lead_pk, timeline_item
from leadrelay.store.search import replace_terms
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction


def _summary(changes: dict[str, dict[str, Any]]) -> str:
    return "edited " + ", ".join(changes)


def edit_lead(table: str, lead: Lead, edit: LeadEdit, now: datetime) -> tuple[Lead, list[TimelineEvent]]:
    """Apply `edit` to `lead` as read (its `version`); returns the lead as it now stands and the
    timeline entries written. Nothing to change and no note: nothing is written. A lead changed by
    someone else since it was read: `Refused("version_conflict")` (409), nothing written."""
    changes = changes_of(lead, edit)
    events: list[TimelineEvent] = []
    txn = Transaction()
    if changes:
        updated = lead.model_copy(deep=True)
        for name, value in edit.fields.items():
            setattr(updated, name, value)
        if edit.tags is not None:
            updated.tags = list(edit.tags)
        for key, value in edit.custom.items():
            if value is None:
                updated.extra.pop(key, None)
            else:
                updated.extra[key] = value
        updated.version = lead.version + 1
        sets, removes, names, values = ["version = :next"], [], {}, {":next": updated.version, ":seen": lead.version}
        for position, name in enumerate([*edit.fields, *(["tags"] if edit.tags is not None else []), "extra"]):
            names[f"#f{position}"] = name
            value = getattr(updated, name)
            if value is None:
                removes.append(f"#f{position}")
            else:
                sets.append(f"#f{position} = :v{position}")
                values[f":v{position}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        txn.update(table, {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}, expression, values,
                   condition="version = :seen", names=names)  # fmt: skip
        replace_terms(txn, table, lead, updated)  # a corrected name is found by its new words
        event = TimelineEvent(event_id=new_id(now), lead_id=lead.lead_id, at=now, kind=LEAD_UPDATED, actor=edit.by,
                              summary=_summary(changes), data={"changes": changes})  # fmt: skip
        txn.put(table, timeline_item(event))
        events.append(event)
    else:
        updated = lead
    if edit.note:
        note = TimelineEvent(event_id=new_id(now), lead_id=lead.lead_id, at=now, kind=LEAD_NOTE, actor=edit.by,
                             summary=edit.note[:200], data={"note": edit.note})  # fmt: skip
        txn.put(table, timeline_item(note))
        if not changes:  # a note alone leaves the lead as it is, but only on a lead that exists
            txn.items.append({"ConditionCheck": {"TableName": table, "Key": to_item({"pk": lead_pk(lead.lead_id),
                              "sk": LEAD_SK}), "ConditionExpression": "attribute_exists(pk)"}})  # fmt: skip
        events.append(note)
    if not txn.items:
        return lead, []
    try:
        run_transaction(txn.items)
    except TransactionFailed as failed:
        if failed.failed_conditions():
            stale = "the lead changed since you read it: read it again and redo the edit"
            raise Refused("version_conflict", stale) from failed
        raise
    return updated, events
