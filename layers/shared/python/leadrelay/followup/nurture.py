"""Nurture cadences: ordered steps (call +2 days, WhatsApp +7 days, email +14 days) that each
become a follow-up for the lead's owner. Consent and do-not-call are honoured at every step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadrelay.models import Lead
from leadrelay.models.followup_settings import ActivityType, Cadence


def may_nurture(lead: Lead) -> str | None:
    """Why the lead may not be nurtured at all (None: it may). A person who refused or withdrew
    marketing consent gets no cadence."""
    if lead.consent is False or (lead.consent_detail is not None and lead.consent_detail.given is False):
        return "the person withdrew (or never gave) consent to be contacted for marketing"
    return None


def step_allowed(lead: Lead, step_type: ActivityType) -> str | None:
    """Why this step is skipped for this lead (None: it is not). Do-not-call rules out calls only."""
    if step_type is ActivityType.CALL and lead.do_not_call:
        return "the number is on the do-not-call list"
    return None


@dataclass(frozen=True)
class StepDue:
    index: int
    type: ActivityType
    due_at: datetime


def step_due(cadence: Cadence, started_at: datetime, index: int) -> StepDue | None:
    """Step `index` of the cadence and when it is due (None past the last step)."""
    if index < 0 or index >= len(cadence.steps):
        return None
    step = cadence.steps[index]
    return StepDue(index, step.type, started_at + timedelta(days=step.after_days))


def next_allowed_step(
    cadence: Cadence, started_at: datetime, index: int, lead: Lead
) -> tuple[StepDue | None, list[str]]:
    """The first step from `index` on that this lead may get, and why each one before it was skipped."""
    skipped: list[str] = []
    while (step := step_due(cadence, started_at, index)) is not None:
        why = step_allowed(lead, step.type)
        if why is None:
            return step, skipped
        skipped.append(f"step {index + 1} ({step.type.value}) skipped: {why}")
        index += 1
    return None, skipped
