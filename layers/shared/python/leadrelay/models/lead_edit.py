"""A person's edit of a lead (fields, tags, custom fields, a note) and what it really changes (pure).
`store/lead_edits.py` writes it with its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadrelay.errors import Refused
from leadrelay.models.lead import Lead

# Lead fields a person may correct. Phone and email identify the person (dedupe keys): not here.
EDITABLE_FIELDS = ("name", "city", "state", "state_code", "pincode", "language", "product", "budget", "message")
LEAD_UPDATED = "lead.updated"
LEAD_NOTE = "lead.note"


@dataclass
class LeadEdit:
    """What to change. `fields` maps an editable field to its new value (None clears it)."""

    by: str
    fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None  # the whole new list
    custom: dict[str, Any] = field(default_factory=dict)  # set (None removes) keys of `extra`
    note: str | None = None


def changes_of(lead: Lead, edit: LeadEdit) -> dict[str, dict[str, Any]]:
    """Field → {"from", "to"} for every value the edit really changes (pure)."""
    changes: dict[str, dict[str, Any]] = {}
    for name, value in edit.fields.items():
        if name not in EDITABLE_FIELDS:
            raise Refused("not_editable", f"{name} cannot be edited here", 422)
        old = getattr(lead, name)
        if old != value:
            changes[name] = {"from": old, "to": value}
    if edit.tags is not None and list(edit.tags) != list(lead.tags):
        changes["tags"] = {"from": list(lead.tags), "to": list(edit.tags)}
    for key, value in edit.custom.items():
        old = lead.extra.get(key)
        if old != value:
            changes[f"custom.{key}"] = {"from": old, "to": value}
    return changes
