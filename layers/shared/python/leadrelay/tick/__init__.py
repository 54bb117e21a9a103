"""The followup function's every-minute tick: the work that makes sure no lead is forgotten.

Each step reads one queue of the sparse `by_due` index (never a scan), oldest first, at most
`batch` items, and handles each item with a write conditional on the state it read, so a tick
that runs twice, or overlaps the previous one, changes nothing twice; what is left waits for the
next tick. Every tick:

1. follow-ups that fell due: `followup.due` on the lead's timeline (the owner's reminder);
2. the SLA queue: a newly assigned lead gets its first-contact SLA deadline (shift hours when
   configured; a cadence attached when its rule names one); a lead past its deadline is
   re-distributed to an agent who never had it (backup pool first), or escalated to the team's
   manager after `max_redistributions` moves;
3. unassigned leads (nobody was eligible), oldest first, to whoever is eligible now.

Every fifth minute (work measured in hours and days):

4. follow-ups not done `missed_after_hours` after their due time: `missed`, `followup.missed`;
5. leads the router still owes a decision minutes after they arrived: routed again;
6. nurture steps that fell due become follow-ups; lost leads re-surface into the long-tail cadence.

The steps live one module each (followups, sla, queue, stuck, nurture) on a shared base (base:
reading a queue, settling guarded writes, assigning a lead); runner puts them together.
"""

from leadrelay.tick.base import MAX_TRANSACTION_ITEMS, TickReport
from leadrelay.tick.queue import QUEUE_TRIGGER
from leadrelay.tick.runner import SLOW_STEPS_EVERY_MINUTES, FollowupTick
from leadrelay.tick.stuck import REDRIVE_TRIGGER

__all__ = [
    "MAX_TRANSACTION_ITEMS",
    "QUEUE_TRIGGER",
    "REDRIVE_TRIGGER",
    "SLOW_STEPS_EVERY_MINUTES",
    "FollowupTick",
    "TickReport",
]
