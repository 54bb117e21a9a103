"""Generated lead histories for the dashboard's tests, and a brute-force recount to check against.

Each lead goes through random events (assigned, reassigned, contacted, qualified, won with a value,
lost, reopened, a custom status); every event yields the lead item as the stream's NEW image would
show it. The recount below reads only the final items and shares no code with the aggregates.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from leadrelay.clock import iso

SOURCES = ("website", "facebook", "google", "indiamart", "justdial")
CAMPAIGNS = ("google", "facebook", "newsletter")
TEAMS = {"north": ("a1", "a2", "a3"), "south": ("a4", "a5", "a6")}
AGENT_TEAM = {agent: team for team, agents in TEAMS.items() for agent in agents}
START = datetime(2026, 10, 1, 18, 0, tzinfo=UTC)  # 23:30 IST


@dataclass
class History:
    lead_id: str
    images: list[dict[str, Any] | None]  # None: the lead was removed


def generate(count: int, seed: int, days: int = 40, start: datetime = START) -> list[History]:
    """`count` leads received over `days`, each with a random history of 1–8 images."""
    rng = random.Random(seed)
    histories = []
    for number in range(count):
        received = start + timedelta(seconds=rng.randrange(days * 86_400))
        lead: dict[str, Any] = {
            "lead_id": f"L{seed}-{number:05d}",
            "source_id": rng.choice(SOURCES),
            "status": "new",
            "received_at": iso(received),
            "name": "Asha",
            "source_kind": "generic",
        }
        if rng.random() < 0.6:
            lead["attribution"] = {"utm_source": rng.choice(CAMPAIGNS), "utm_campaign": rng.choice(("diwali", "q4"))}
        if rng.random() < 0.3:  # an ad platform's own campaign (Meta, Google)
            lead.setdefault("attribution", {}).update(
                campaign_id=rng.choice(("111", "222")),
                campaign_name=rng.choice(("Diwali offers", None)),
                platform=rng.choice(("facebook", "instagram", None)),
            )
        if rng.random() < 0.02:
            lead["test"] = True
        images: list[dict[str, Any] | None] = [dict(lead)]
        now = received
        for _ in range(rng.randrange(0, 8)):
            now += timedelta(seconds=rng.choice((0.05, 0.4, 3, 90, 600, 3600, 5400, 20_000, 90_000)))
            _event(rng, lead, now)
            images.append(dict(lead))
        if rng.random() < 0.01:
            images.append(None)
        histories.append(History(lead["lead_id"], images))
    return histories


def _assign(rng: random.Random, lead: dict[str, Any], now: datetime) -> None:
    agent = rng.choice(list(AGENT_TEAM))
    lead.update(assigned_agent_id=agent, assigned_team_id=AGENT_TEAM[agent], assigned_at=iso(now))
    if lead["status"] in ("new", "unassigned"):
        lead["status"] = "assigned"


def _event(rng: random.Random, lead: dict[str, Any], now: datetime) -> None:
    roll = rng.random()
    if "assigned_at" not in lead or roll < 0.1:
        if roll < 0.05:
            lead["status"] = "unassigned"
        else:
            _assign(rng, lead, now)
    elif roll < 0.35:
        lead.setdefault("first_contacted_at", iso(now))
        if lead["status"] == "assigned":
            lead["status"] = "contacted"
    elif roll < 0.5:
        lead["status"] = "qualified"
    elif roll < 0.62:
        lead.update(status="won", value=Decimal(rng.choice(("1500", "24999.50", "100000", "0.01"))))
    elif roll < 0.75:
        lead.update(status="lost", close_reason="budget")
    elif roll < 0.82:
        lead["status"] = "site_visit"  # a custom status (open)
    elif roll < 0.9:
        lead["status"] = "new"  # reopened
        for name in ("assigned_agent_id", "assigned_team_id", "assigned_at"):
            lead.pop(name, None)
    else:  # the same person came again, maybe through another source and campaign
        lead["touch_count"] = lead.get("touch_count", 1) + 1
        touch: dict[str, Any] = {"source_id": rng.choice(SOURCES), "source_kind": "generic", "at": iso(now)}
        if rng.random() < 0.5:
            touch["attribution"] = {"utm_source": rng.choice(CAMPAIGNS), "utm_campaign": "retarget"}
        if rng.random() < 0.3:
            touch.setdefault("attribution", {})["campaign_id"] = "333"
        lead["last_touch"] = touch


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def recount(final: list[dict[str, Any]], *, timezone: str = "Asia/Kolkata", sla_minutes: int = 90) -> dict:
    """Brute force: every number per (day, team, source, agent) cell straight from the leads."""
    cells: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    zone = ZoneInfo(timezone)
    for lead in final:
        if lead.get("test"):
            continue
        received = _at(lead["received_at"])
        assert received is not None
        key = (received.astimezone(zone).date().isoformat(), lead.get("assigned_team_id") or "-",
               lead["source_id"], lead.get("assigned_agent_id") or "-")  # fmt: skip
        cell = cells[key]
        cell["received"] += 1
        assigned, contacted = _at(lead.get("assigned_at")), _at(lead.get("first_contacted_at"))
        cell["assigned"] += assigned is not None
        cell["contacted"] += contacted is not None
        cell["contacted_within_sla"] += contacted is not None and contacted - received <= timedelta(minutes=sla_minutes)
        cell["won"] += lead["status"] == "won"
        cell["lost"] += lead["status"] == "lost"
        cell["qualified"] += lead["status"] in ("qualified", "won")
        cell["won_value"] += int(Decimal(str(lead.get("value", 0))) * 100) if lead["status"] == "won" else 0
        cell[f"s:{lead['status']}"] += 1
    return {key: {name: value for name, value in cell.items() if value} for key, cell in cells.items()}


def cells_by_key(cells: list[dict[str, Any]], names: tuple[str, ...]) -> dict:
    """Stored cells in the recount's shape (only the named counters, zeros dropped)."""
    result = {}
    for cell in cells:
        key = (cell["day"], cell["team_id"], cell["source_id"], cell["agent_id"])
        counts = {name: int(value) for name, value in cell.items()
                  if (name in names or name.startswith("s:")) and value}  # fmt: skip
        if counts:
            result[key] = counts
    return result


COMPARED = ("received", "assigned", "contacted", "contacted_within_sla", "won", "lost", "qualified", "won_value")
