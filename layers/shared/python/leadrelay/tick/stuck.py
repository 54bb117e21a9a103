"""Tick step 5: leads the router still owes a decision minutes after they arrived are routed again."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadrelay.clock import parse_iso
from leadrelay.models import RoutingState
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.store.followups import Q_ROUTING
from leadrelay.tick.base import TickBase, TickReport, logger

REDRIVE_TRIGGER = "redrive"


class StuckSteps(TickBase):
    def _stuck(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        # A lead normally leaves this queue within a second: anything a minute old is worth a look.
        for item in self._due(Q_ROUTING, now - timedelta(minutes=1)):
            if parse_iso(item["due_at"]) > now - timedelta(minutes=settings.stuck_after_minutes):
                continue
            lead = self._lead(item)
            if lead is None:
                continue
            if lead.routing_state is not RoutingState.PENDING:
                self._dequeue_lead(lead, Q_ROUTING)
                continue
            report.add("stuck_found")
            try:
                outcome = self.route(lead, REDRIVE_TRIGGER)
            except Exception:
                logger.exception("re-driving stuck lead %s failed", lead.lead_id)
                continue
            if getattr(outcome, "decision", None) is not None:
                report.add("stuck_redriven")
