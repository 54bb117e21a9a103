"""What capture asks of the lead store and what it answers: a lead's identities (dedupe keys) and
the outcome of storing a captured request. Shared by `capture/`, the adapters and `store/leads.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from leadrelay.models.lead import Lead


@dataclass(frozen=True)
class DedupeKey:
    """One identity of a lead. `window` is how long a match counts; None means forever."""

    kind: Literal["EXT", "BODY", "PHONE", "EMAIL", "WAUSER"]
    value: str
    window: timedelta | None

    @property
    def pk(self) -> str:
        return f"DEDUPE#{self.kind}#{self.value}"

    @property
    def is_retry_key(self) -> bool:
        """A match on a provider id or an identical body is the same request again."""
        return self.kind in ("EXT", "BODY")


@dataclass
class StoreOutcome:
    """What happened to a captured lead: `created`, `merged` (touchpoint) or `duplicate`."""

    outcome: Literal["created", "merged", "duplicate"]
    lead_id: str
    matched_on: str | None = None
    # A touchpoint that reopened a closed lead, and the agent it is offered to first.
    reopened: bool = False
    return_to_agent_id: str | None = None


@dataclass
class LeadAsRead:
    """A merge whose guard on the lead failed: the lead as it stands (closed, or just reopened)."""

    lead: Lead


@dataclass
class Reopen:
    """Reopen a closed lead as part of a touchpoint: it owes the router a decision again, offered
    first to `return_to_agent_id` (its previous owner) when the policy says so."""

    version: int
    closed_status: str
    closed_at: datetime | None
    return_to_agent_id: str | None


MergeResult = StoreOutcome | tuple[DedupeKey, str] | LeadAsRead
