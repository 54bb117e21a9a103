"""Activities logged on a lead (calls, notes, messages, meetings) and the follow-ups they set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from leadrelay.models.followup_settings import ActivityType, Outcome
from leadrelay.models.lead import Lead


class Activity(BaseModel):
    activity_id: str
    lead_id: str
    type: ActivityType
    direction: str = "outbound"
    duration_s: int | None = None
    outcome: Outcome | None = None
    callback_at: datetime | None = None
    note: str | None = None
    recording_url: str | None = None
    at: datetime
    logged_at: datetime
    by: str
    agent_id: str | None = None
    client_id: str | None = None
    contact: bool = False


class FollowupStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Followup(BaseModel):
    followup_id: str
    lead_id: str
    agent_id: str | None
    team_id: str | None = None
    due_at: datetime
    status: FollowupStatus = FollowupStatus.OPEN
    reason: str
    type: ActivityType = ActivityType.CALL
    created_at: datetime
    created_by: str = "system"
    note: str | None = None
    # The follow-up was wanted earlier, but that fell outside the owner's shift or on their leave.
    wanted_at: datetime | None = None
    notified_at: datetime | None = None
    missed_at: datetime | None = None
    done_at: datetime | None = None
    done_by_activity_id: str | None = None
    cancelled_reason: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


@dataclass
class ActivityInput:
    """An activity as a person logs it (`store/activities.py` `ActivityLog.log`)."""

    type: ActivityType
    direction: str = "outbound"
    duration_s: int | None = None
    outcome: Outcome | None = None
    callback_at: datetime | None = None
    note: str | None = None
    recording_url: str | None = None
    at: datetime | None = None
    client_id: str | None = None


@dataclass
class Logged:
    """What logging wrote (or, `duplicate`, what an earlier request with the same `client_id` wrote)."""

    activity: Activity
    lead: Lead
    followup: Followup | None
    duplicate: bool = False
