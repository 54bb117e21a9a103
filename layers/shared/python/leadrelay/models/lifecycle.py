"""A status change a person asks for (won, lost, contacted, qualified): `store/lifecycle.py` applies it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class StatusChange:
    # A stage id of the pipeline (routing's words new/offered/assigned/unassigned are refused).
    status: str
    by: str
    reason: str | None = None
    # Won: the deal's value in rupees (the dashboard's revenue by source and agent).
    value: Decimal | None = None
