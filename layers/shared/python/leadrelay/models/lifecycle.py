"""A status change a person asks for (won, lost, contacted, qualified): `store/lifecycle.py` applies it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from leadrelay.models.lead import LeadStatus


@dataclass
class StatusChange:
    status: LeadStatus
    by: str
    reason: str | None = None
    # Won: the deal's value in rupees (the dashboard's revenue by source and agent).
    value: Decimal | None = None
