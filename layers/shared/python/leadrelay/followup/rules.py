"""What an activity sets off (contact, connection, the follow-up it schedules):
`leadrelay.models.followup_rules`, beside the types the stores persist
(a store may not import the domain). This old import path only re-exports (issue #8)."""

from leadrelay.models.followup_rules import (  # noqa: F401
    CONNECTED_OUTCOMES,
    CONTACT_TYPES,
    FollowupPlan,
    is_connection,
    is_contact,
    plan_followup,
    working_time,
)
