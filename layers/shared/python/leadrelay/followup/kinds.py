"""The timeline kinds of follow-up work: `leadrelay.models.followup_kinds`, beside the types the stores persist
(a store may not import the domain). This old import path only re-exports (issue #8)."""

from leadrelay.models.followup_kinds import (  # noqa: F401
    ACTIVITY_LOGGED,
    ASSIGNED,
    FOLLOWUP_CANCELLED,
    FOLLOWUP_DONE,
    FOLLOWUP_DUE,
    FOLLOWUP_MISSED,
    FOLLOWUP_MOVED,
    FOLLOWUP_SCHEDULED,
    NURTURE_STARTED,
    NURTURE_STEP,
    NURTURE_STOPPED,
    REASSIGNED,
    SLA_BREACHED,
    SLA_WARNING,
    STATUS_CHANGED,
)
