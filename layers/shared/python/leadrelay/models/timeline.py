"""Timeline events: everything that ever happened to a lead, oldest first."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class TimelineKind(StrEnum):
    CREATED = "lead.created"
    TOUCHPOINT = "lead.touchpoint"
    DUPLICATE = "lead.duplicate"
    ASSIGNED = "lead.assigned"
    UNASSIGNED = "lead.unassigned"
    REASSIGNED = "lead.reassigned"
    STATUS_CHANGED = "lead.status_changed"
    # A closed (won/lost) lead came back and was reopened by the organisation's returning policy.
    REOPENED = "lead.reopened"
    # Something a provider said about the lead that is not a lead (a WhatsApp delivery status).
    PROVIDER_NOTICE = "lead.provider_notice"
    # Accept-or-pass offers: offered to an agent; the agent declined or let it expire (accepting
    # is a lead.assigned).
    OFFERED = "lead.offered"
    OFFER_PASSED = "lead.offer_passed"


class TimelineEvent(BaseModel):
    event_id: str
    lead_id: str
    at: datetime
    kind: str
    actor: str = "system"
    summary: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
