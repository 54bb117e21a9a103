"""What the alarms watch that AWS does not measure for us."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadrelay.definitions import LEAD_WAITING_ALARM_MINUTES, ROUTING_QUEUE, UNASSIGNED_QUEUE
from leadrelay.store.leads import LeadRepository


def leads_waiting(leads: LeadRepository, now: datetime, minutes: int = LEAD_WAITING_ALARM_MINUTES) -> int:
    """Leads nobody has had for more than `minutes`: still waiting for the router (a record stuck in
    retries or parked in the DLQ), or decided unassigned. Two COUNT queries of the due index."""
    since = now - timedelta(minutes=minutes)
    return leads.count_due(ROUTING_QUEUE, since) + leads.count_due(UNASSIGNED_QUEUE, since)
