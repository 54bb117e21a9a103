"""Tick steps 1 and 4: follow-ups that fell due (the owner's reminder) and follow-ups not done
`missed_after_hours` after their due time (missed; the team's manager sees it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadrelay.clock import iso, parse_iso
from leadrelay.models import followup_kinds as kinds
from leadrelay.models.followup import FollowupStatus
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.store.followups import Q_FOLLOWUP_DUE, Q_FOLLOWUP_MISS, followup_key
from leadrelay.store.transactions import Transaction
from leadrelay.tick.base import TickBase, TickReport


class FollowupSteps(TickBase):
    def _followups_due(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        units = []
        for item in self._due(Q_FOLLOWUP_DUE, now):
            missed_after = timedelta(hours=settings.missed_after_hours)
            due = parse_iso(item["due_time"])
            txn = Transaction()
            txn.update(
                self.table,
                followup_key(item["followup_id"]),
                "SET notified_at = :now, due_pk = :miss, due_at = :miss_at",
                {":now": now, ":miss": Q_FOLLOWUP_MISS, ":miss_at": iso(due + missed_after), ":due": Q_FOLLOWUP_DUE,
                 ":open": FollowupStatus.OPEN.value},
                "due_pk = :due AND #status = :open",
                names={"#status": "status"},
            )  # fmt: skip
            summary = f"follow-up due for {item.get('agent_id') or 'nobody'} ({item.get('reason')})"
            data = {"followup_id": item["followup_id"], "agent_id": item.get("agent_id"), "due_at": item["due_time"],
                    "reason": item.get("reason"), "type": item.get("type")}  # fmt: skip
            self._put_event(txn, item["lead_id"], now, kinds.FOLLOWUP_DUE, summary, data)
            units.append(txn.items)
        report.add("followups_due", self._settle_many(units))

    def _followups_missed(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        units = []
        for item in self._due(Q_FOLLOWUP_MISS, now):
            txn = Transaction()
            txn.update(
                self.table,
                followup_key(item["followup_id"]),
                "SET #status = :missed, missed_at = :now REMOVE due_pk, due_at",
                {":now": now, ":missed": FollowupStatus.MISSED.value, ":queue": Q_FOLLOWUP_MISS,
                 ":open": FollowupStatus.OPEN.value},
                "due_pk = :queue AND #status = :open",
                names={"#status": "status"},
            )  # fmt: skip
            summary = (
                f"follow-up missed by {item.get('agent_id') or 'nobody'}: not done {settings.missed_after_hours} h"
                f" after it was due ({item['due_time']}); the team's manager sees it"
            )
            data = {"followup_id": item["followup_id"], "agent_id": item.get("agent_id"),
                    "team_id": item.get("team_id"), "due_at": item["due_time"]}  # fmt: skip
            self._put_event(txn, item["lead_id"], now, kinds.FOLLOWUP_MISSED, summary, data)
            units.append(txn.items)
        report.add("followups_missed", self._settle_many(units))
