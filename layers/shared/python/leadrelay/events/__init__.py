"""Domain events on the EventBridge bus: audit logging, notifications and workflows listen.

Nothing publishes an event after a commit. The change and its timeline entry are written in one
transaction; the table's stream carries the new timeline item to the events function, which puts
it on the bus (`forward.py` shapes it, `bus.py` sends it). A crash between the commit and the bus
loses nothing: the stream record is retried until it is delivered or parked in the on-failure
queue. Delivery is at least once; every event carries `detail.event_id` (the timeline entry's id)
for consumers to drop duplicates.
"""

from __future__ import annotations

LEAD_CREATED = "lead.created"
LEAD_MERGED = "lead.merged"
LEAD_ASSIGNED = "lead.assigned"
LEAD_UNASSIGNED = "lead.unassigned"
LEAD_REASSIGNED = "lead.reassigned"
LEAD_QUARANTINED = "lead.quarantined"
LEAD_STATUS_CHANGED = "lead.status_changed"
LEAD_REOPENED = "lead.reopened"
