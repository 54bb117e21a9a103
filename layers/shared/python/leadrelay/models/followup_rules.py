"""Activities and what they set off: whether one is contact, and the follow-up an outcome
schedules (moved into the owner's working time when the organisation asks for that)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadrelay.models.agent import Agent
from leadrelay.models.followup_settings import ActivityType, FollowupSettings, Outcome
from leadrelay.models.working_time import next_working_moment

# Messages and meetings reach the person whatever happens next; a call counts once it is dialled.
CONTACT_TYPES = frozenset(
    {ActivityType.CALL, ActivityType.WHATSAPP, ActivityType.SMS, ActivityType.EMAIL, ActivityType.MEETING}
)
# A call with one of these outcomes reached the person ("connected or better").
CONNECTED_OUTCOMES = frozenset(
    {Outcome.CONNECTED, Outcome.INTERESTED, Outcome.NOT_INTERESTED, Outcome.CALLBACK_REQUESTED}
)


def is_contact(activity_type: ActivityType, direction: str) -> bool:
    """Any outbound call attempt (whatever its outcome), message or meeting is contact; a note or
    an inbound message is not (the person reaching us does not mean we reached them)."""
    if activity_type is ActivityType.MEETING:
        return True
    return direction == "outbound" and activity_type in CONTACT_TYPES


def is_connection(activity_type: ActivityType, outcome: Outcome | None) -> bool:
    """A call that reached the person: it stamps `first_connected_at` the first time."""
    return activity_type is ActivityType.CALL and outcome in CONNECTED_OUTCOMES


@dataclass(frozen=True)
class FollowupPlan:
    """A follow-up to set: when it is due, why, and when it would have been without shifts."""

    due_at: datetime
    reason: str
    wanted_at: datetime

    @property
    def moved(self) -> bool:
        return self.due_at != self.wanted_at


def plan_followup(
    settings: FollowupSettings,
    outcome: Outcome | None,
    *,
    at: datetime,
    callback_at: datetime | None,
    owner: Agent | None,
    timezone: str,
) -> FollowupPlan | None:
    """The follow-up an activity's outcome schedules, or None (no outcome, or a rule that
    schedules nothing, e.g. not interested). `at` is when the activity happened."""
    if outcome is None:
        return None
    rule = settings.rules[outcome]
    if rule.use_callback_at:
        # Asked to call back without saying when: the busy rule's "soon" is the safest reading.
        wanted = callback_at if callback_at is not None else at + timedelta(hours=1)
    elif rule.after_minutes is not None:
        wanted = at + timedelta(minutes=rule.after_minutes)
    else:
        return None
    return working_time(settings, f"outcome:{outcome.value}", wanted, owner, timezone)


def working_time(
    settings: FollowupSettings, reason: str, wanted: datetime, owner: Agent | None, timezone: str
) -> FollowupPlan:
    """A follow-up wanted at `wanted`, moved to the owner's next shift start when it falls
    outside their shift or on their leave (and the organisation asks for that)."""
    due = wanted
    if settings.shift_aware and owner is not None:
        due = next_working_moment(owner, wanted, timezone)
    return FollowupPlan(due_at=due, reason=reason, wanted_at=wanted)
