"""The tick itself: which steps run on this minute, each guarded so one failing step does not stop
the others (its items stay due for the next tick)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.tick.base import Lazy, TickReport, logger
from leadrelay.tick.followups import FollowupSteps
from leadrelay.tick.queue import QueueSteps
from leadrelay.tick.sla import SlaSteps
from leadrelay.tick.stuck import StuckSteps

# Missed follow-ups, nurture steps and lost leads are looked at on ticks whose minute is a
# multiple of this (every fifth minute); the rest on every tick.
SLOW_STEPS_EVERY_MINUTES = 5


class FollowupTick(FollowupSteps, SlaSteps, QueueSteps, StuckSteps):
    """Every step of the tick (SlaSteps brings the nurture steps and `start_cadence`)."""

    def run(self) -> TickReport:
        report = TickReport()
        now = self.clock.now()
        # Read only once some step finds work: an idle tick makes no settings read.
        settings = cast(FollowupSettings, Lazy(self.followups.get_settings))
        steps: list[tuple[str, Callable[[datetime, FollowupSettings, TickReport], None]]] = [
            ("followups_due", self._followups_due),
            ("sla", self._sla),
            ("unassigned", self._unassigned),
        ]
        if now.minute % SLOW_STEPS_EVERY_MINUTES == 0:
            # Work measured in hours and days: a few minutes late costs nothing, and an idle
            # tick makes three queries fewer.
            steps += [("followups_missed", self._followups_missed), ("stuck", self._stuck), ("nurture", self._nurture),
                      ("lost", self._lost)]  # fmt: skip
        for name, step in steps:
            try:
                step(now, settings, report)
            except Exception:  # one step failing must not stop the others; its items stay due
                logger.exception("followup tick: %s failed", name)
                report.add("failed_steps")
        return report
