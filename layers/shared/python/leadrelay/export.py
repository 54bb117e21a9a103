"""Leads as CSV for a spreadsheet (pure: no I/O, the time zone passed in).

UTF-8 with a byte-order mark, so Excel shows Devanagari and Tamil names instead of mojibake; a
cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so that
a spreadsheet shows it as text and never runs it as a formula (CSV injection), which also keeps
`+91…` phones from turning into 9.19877E+11. The columns use the lead fields' own names, so
`leadrelay import` (and `POST /sources/{id}/import`) read the file back without a mapping.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from leadrelay.models import Lead

BOM = "\ufeff"
COLUMNS: tuple[str, ...] = (
    "lead_id", "received_at", "status", "source_id", "name", "phone", "email", "city", "state", "pincode",
    "language", "product", "budget", "message", "tags", "assigned_agent_id", "assigned_team_id", "assigned_at",
    "first_contacted_at", "closed_at", "close_reason", "utm_source", "utm_medium", "utm_campaign",
)  # fmt: skip
_TIME_COLUMNS = frozenset({"received_at", "assigned_at", "first_contacted_at", "closed_at"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DateFormat = Literal["iso", "indian"]


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _time(value: datetime | None, date_format: DateFormat, timezone: str) -> str:
    if value is None:
        return ""
    if date_format == "indian":  # 23-11-2026 18:05, in the organisation's time zone
        return value.astimezone(ZoneInfo(timezone)).strftime("%d-%m-%Y %H:%M")
    return value.astimezone(ZoneInfo("UTC")).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cell(lead: Lead, column: str, date_format: DateFormat, timezone: str) -> str:
    if column in _TIME_COLUMNS:
        return _time(getattr(lead, column), date_format, timezone)
    if column == "status":
        return str(lead.status)
    if column == "tags":
        return ", ".join(lead.tags)
    if column.startswith("utm_"):
        value: Any = getattr(lead.attribution, column)
    else:
        value = getattr(lead, column)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return neutralise(str(value))


def header(with_bom: bool = True) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(COLUMNS)
    return (BOM if with_bom else "") + buffer.getvalue()


def rows(leads: Iterable[Lead], date_format: DateFormat = "iso", timezone: str = "Asia/Kolkata") -> str:
    """The CSV lines of `leads` (no header)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for lead in leads:
        writer.writerow([_cell(lead, column, date_format, timezone) for column in COLUMNS])
    return buffer.getvalue()


def to_csv(leads: Iterable[Lead], date_format: DateFormat = "iso", timezone: str = "Asia/Kolkata") -> str:
    """A whole file: BOM, header, one line per lead."""
    return header() + rows(leads, date_format, timezone)
