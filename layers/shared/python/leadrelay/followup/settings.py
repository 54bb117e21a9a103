"""The follow-up settings types: `leadrelay.models.followup_settings`, beside the types the stores persist
(a store may not import the domain). This old import path only re-exports (issue #8)."""

from leadrelay.models.followup_settings import (  # noqa: F401
    DAY,
    DEFAULT_CADENCES,
    DEFAULT_OUTCOME_RULES,
    ActivityType,
    Cadence,
    CadenceStep,
    FollowupSettings,
    NurtureSettings,
    Outcome,
    OutcomeRule,
    SlaSettings,
)
