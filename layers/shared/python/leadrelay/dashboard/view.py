"""The dashboard, the funnel and the trends, assembled from counter cells. Pure: no I/O, no clock.

A cell is a dict with `day`, `team_id`, `source_id`, `agent_id` and counters (see `aggregates`);
a follow-up cell has `day`, `agent_id` and `fu_open`/`fu_missed`/`fu_done`. The caller reads the
cells of the window and the caller's scope; everything here is sums over them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from leadrelay.dashboard_counts import (
    ASSIGN_MS_EDGES,
    FIELDS,
    FIRST_CONTACT_MIN_EDGES,
    NONE,
    Definitions,
)

Cell = Mapping[str, Any]


@dataclass(frozen=True)
class Window:
    """Org-local days `first`..`last` (both included), optionally one team and one source."""

    first: date
    last: date
    team_id: str | None = None
    source_id: str | None = None
    timezone: str = "Asia/Kolkata"

    def holds(self, cell: Cell) -> bool:
        return (
            self.first.isoformat() <= str(cell.get("day")) <= self.last.isoformat()
            and (self.team_id is None or cell.get("team_id") == self.team_id)
            and (self.source_id is None or cell.get("source_id") == self.source_id)
        )

    def received_range(self) -> tuple[datetime, datetime]:
        """The window as instants [start, end): local midnight of the first day to that after the last."""
        zone = ZoneInfo(self.timezone)
        return datetime.combine(self.first, time(0), zone), datetime.combine(
            self.last + timedelta(days=1), time(0), zone
        )

    def lead_link(self, **params: str) -> str:
        """`GET /leads` query that lists exactly the leads behind a number: received in the window
        (ISO times with the org's offset, [from, to)), in the scope, at the `stage` the number counts."""
        start, end = self.received_range()
        query = {"received_from": start.isoformat(), "received_to": end.isoformat()}
        if self.team_id is not None:
            query["team_id"] = self.team_id
        if self.source_id is not None:
            query["source_id"] = self.source_id
        query.update(params)
        return "/leads?" + urlencode(query)


def _count(cell: Cell, name: str) -> int:
    value = cell.get(name)
    return int(value) if isinstance(value, int | float) else 0


def _rupees(paise: int) -> int | float:
    return paise // 100 if paise % 100 == 0 else paise / 100


class _Totals:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, cell: Cell) -> None:
        for name, value in cell.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.counts[name] = self.counts.get(name, 0) + int(value)

    def get(self, name: str) -> int:
        return self.counts.get(name, 0)

    def fields(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: self.get(name) for name in FIELDS}
        values["won_value"] = _rupees(self.get("won_value"))
        return values

    def histogram(self, prefix: str, edges: tuple[int, ...]) -> list[int]:
        return [self.get(f"{prefix}:{index}") for index in range(len(edges) + 1)]


def percentile(counts: list[int], edges: tuple[int, ...], q: float) -> int | None:
    """The upper edge of the bucket that holds the q-th value (nearest rank), None without values;
    values past the last edge report the last edge."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return edges[min(index, len(edges) - 1)]
    return edges[-1]


def _distribution(counts: list[int], edges: tuple[int, ...]) -> dict[str, Any]:
    buckets: list[dict[str, int | None]] = [
        {"le": edge, "count": count} for edge, count in zip(edges, counts, strict=False)
    ]
    buckets.append({"le": None, "count": counts[-1]})
    return {"p50": percentile(counts, edges, 0.5), "p90": percentile(counts, edges, 0.9), "count": sum(counts),
            "buckets": buckets}  # fmt: skip


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def build_dashboard(
    cells: Iterable[Cell],
    followup_cells: Iterable[Cell],
    *,
    window: Window,
    today: date,
    definitions: Definitions,
    agents: set[str] | None = None,
) -> dict[str, Any]:
    """The dashboard of `window` from the cells of the caller's scope. `agents` limits follow-up
    counts to those agents (a manager's team); None counts everyone's."""
    total = _Totals()
    by_source: dict[str, _Totals] = {}
    by_agent: dict[str, _Totals] = {}
    for cell in cells:
        if not window.holds(cell):
            continue
        total.add(cell)
        by_source.setdefault(str(cell.get("source_id")), _Totals()).add(cell)
        by_agent.setdefault(str(cell.get("agent_id")), _Totals()).add(cell)

    open_followups: dict[str, int] = {}
    missed_followups: dict[str, int] = {}
    due_today = 0
    for cell in followup_cells:
        agent = str(cell.get("agent_id"))
        if agents is not None and agent not in agents:
            continue
        day = str(cell.get("day"))
        if day == today.isoformat():
            due_today += _count(cell, "fu_open")
        if window.first.isoformat() <= day <= window.last.isoformat():
            open_followups[agent] = open_followups.get(agent, 0) + _count(cell, "fu_open")
            missed_followups[agent] = missed_followups.get(agent, 0) + _count(cell, "fu_missed")

    link = window.lead_link
    answer: dict[str, Any] = total.fields()
    answer["qualified"] = total.get("qualified")
    links: dict[str, Any] = {name: link(stage=_stage(name)) for name in (*FIELDS, "qualified")}

    answer["by_source"], links["by_source"] = {}, {}
    for source, tally in sorted(by_source.items(), key=lambda kv: (-kv[1].get("received"), kv[0])):
        row = tally.fields()
        row["received_share"] = _share(tally.get("received"), total.get("received"))
        row["won_value_share"] = _share(tally.get("won_value"), total.get("won_value"))
        answer["by_source"][source] = row
        links["by_source"][source] = {name: link(source_id=source, stage=_stage(name)) for name in FIELDS}

    answer["by_agent"], links["by_agent"] = {}, {}
    agent_ids = set(by_agent) | {a for a in (*open_followups, *missed_followups) if a != NONE}
    for agent in sorted(agent_ids):
        row = (by_agent.get(agent) or _Totals()).fields()
        row["open_followups"] = open_followups.get(agent, 0)
        row["missed_followups"] = missed_followups.get(agent, 0)
        answer["by_agent"][agent] = row
        links["by_agent"][agent] = {name: link(agent_id=agent, stage=_stage(name)) for name in FIELDS}

    statuses = sorted(name[2:] for name in total.counts if name.startswith("s:") and total.get(name))
    answer["by_status"] = {status: total.get(f"s:{status}") for status in statuses}
    links["by_status"] = {status: link(status=status, stage="received") for status in statuses}

    answer["speed_to_lead"] = {
        "assign_ms": _distribution(total.histogram("ha", ASSIGN_MS_EDGES), ASSIGN_MS_EDGES),
        "first_contact_minutes": _distribution(total.histogram("hc", FIRST_CONTACT_MIN_EDGES), FIRST_CONTACT_MIN_EDGES),
    }

    def leaked(tally: _Totals) -> int:
        return tally.get("received") - tally.get("contacted_within_sla")

    answer["leakage"] = {
        "not_contacted_within_sla": leaked(total),
        "by_source": {source: leaked(tally) for source, tally in sorted(by_source.items()) if leaked(tally)},
        "by_agent": {agent: leaked(tally) for agent, tally in sorted(by_agent.items()) if leaked(tally)},
    }
    stage = "not_contacted_within_sla"
    links["leakage"] = {
        "not_contacted_within_sla": link(stage=stage),
        "by_source": {source: link(source_id=source, stage=stage) for source in answer["leakage"]["by_source"]},
        "by_agent": {agent: link(agent_id=agent, stage=stage) for agent in answer["leakage"]["by_agent"]},
    }
    answer["followups"] = {"due_today": due_today, "missed": sum(missed_followups.values())}
    links["followups"] = {"due_today": "/followups?due=today&status=open", "missed": "/followups?status=missed"}

    ranked = sorted(
        (agent for agent in by_agent if agent != NONE),
        key=lambda a: (-by_agent[a].get("won_value"), -by_agent[a].get("won"),
                       -by_agent[a].get("contacted_within_sla"), a),
    )  # fmt: skip
    answer["leaderboard"] = [
        {"rank": rank, "agent_id": agent, **{name: answer["by_agent"][agent][name] for name in FIELDS}}
        for rank, agent in enumerate(ranked, start=1)
    ]
    answer["window"] = {"from": window.first.isoformat(), "to": window.last.isoformat(), "team_id": window.team_id,
                        "source_id": window.source_id, "timezone": definitions.timezone,
                        "sla_minutes": definitions.sla_minutes}  # fmt: skip
    answer["links"] = links
    return answer


def _stage(name: str) -> str:
    return "won" if name == "won_value" else name


FUNNEL_STAGES = ("received", "contacted", "qualified", "won")


def period_start(day: date, period: str) -> date:
    """The day itself, or the Monday of its ISO week."""
    return day if period == "day" else day - timedelta(days=day.weekday())


def trends(cells: Iterable[Cell], *, window: Window, period: str) -> dict[str, Any]:
    """The funnel received → contacted → qualified → won (and won value), per day or per week
    (weeks start on Monday), by source and in total."""
    if period not in ("day", "week"):
        raise ValueError("period is day or week")
    rows: dict[date, dict[str, _Totals]] = {}
    total = _Totals()
    for cell in cells:
        if not window.holds(cell):
            continue
        start = period_start(date.fromisoformat(str(cell["day"])), period)
        rows.setdefault(start, {}).setdefault(str(cell.get("source_id")), _Totals()).add(cell)
        total.add(cell)

    def funnel(tally: _Totals) -> dict[str, Any]:
        values: dict[str, Any] = {stage: tally.get(stage) for stage in FUNNEL_STAGES}
        values["won_value"] = _rupees(tally.get("won_value"))
        return values

    periods = []
    start = period_start(window.first, period)
    step = timedelta(days=1 if period == "day" else 7)
    while start <= window.last:
        by_source = rows.get(start, {})
        period_total = _Totals()
        for tally in by_source.values():
            period_total.counts = {k: period_total.get(k) + tally.get(k) for k in {*period_total.counts, *tally.counts}}
        periods.append({"start": start.isoformat(), **funnel(period_total),
                        "by_source": {s: funnel(t) for s, t in sorted(by_source.items())}})  # fmt: skip
        start += step
    return {"period": period, "stages": list(FUNNEL_STAGES), "total": funnel(total), "periods": periods,
            "window": {"from": window.first.isoformat(), "to": window.last.isoformat(),
                       "team_id": window.team_id, "source_id": window.source_id}}  # fmt: skip


CSV_COLUMNS = ("group", "key", *FIELDS, "open_followups", "missed_followups")


def dashboard_csv_rows(answer: Mapping[str, Any]) -> list[list[Any]]:
    """The dashboard as rows: the total, then one per source, one per agent, one per status."""
    rows: list[list[Any]] = [list(CSV_COLUMNS)]
    rows.append(["total", "", *(answer[name] for name in FIELDS), "", ""])
    for source, row in answer["by_source"].items():
        rows.append(["source", source, *(row[name] for name in FIELDS), "", ""])
    for agent, row in answer["by_agent"].items():
        rows.append(["agent", agent, *(row[name] for name in FIELDS), row["open_followups"], row["missed_followups"]])
    for status, count in answer["by_status"].items():
        rows.append(["status", status, count, *([""] * (len(CSV_COLUMNS) - 3))])
    return rows


def _attribution_rows(tallies: dict[tuple[str, ...], dict[str, int]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for key, tally in tallies.items():
        leads, won, lost = tally.get("leads", 0), tally.get("won", 0), tally.get("lost", 0)
        if not leads:
            continue
        row: dict[str, Any] = dict(zip(names, key, strict=True))
        row.update(leads=leads, won=won, lost=lost, open=leads - won - lost, win_rate=round(won / leads, 4))
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["leads"], *(str(r[n]) for n in names)))


AD_FIELDS = ("platform", "campaign_id", "campaign_name")  # as leadrelay.reports.AD_CAMPAIGN_FIELDS


def attribution(cells: Iterable[Cell], *, window: Window, kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Leads by first-touch source (the lead's own) and last-touch source (the person's latest
    arrival), and by their campaigns, with outcomes; journeys that came back through another source."""
    from leadrelay.dashboard_counts import CAMPAIGN_SEPARATOR

    first: dict[tuple[str, ...], dict[str, int]] = {}
    groups: dict[str, dict[tuple[str, ...], dict[str, int]]] = {"lt": {}, "fc": {}, "lc": {}, "fa": {}, "la": {}}
    paths: dict[tuple[str, str], int] = {}
    total = returning = 0
    for cell in cells:
        if not window.holds(cell):
            continue
        source = str(cell.get("source_id"))
        tally = first.setdefault((source,), {})
        for name, as_name in (("received", "leads"), ("won", "won"), ("lost", "lost")):
            tally[as_name] = tally.get(as_name, 0) + _count(cell, name)
        total += _count(cell, "received")
        returning += _count(cell, "returning")
        for name, value in cell.items():
            if not isinstance(value, int | float) or ":" not in name:
                continue
            prefix, key = name.split(":", 1)
            group, _, outcome = prefix.partition("_")
            if prefix == "xs":
                paths[(source, key)] = paths.get((source, key), 0) + int(value)
            elif group in groups:
                parts = tuple(key.split(CAMPAIGN_SEPARATOR, 2)) if group != "lt" else (key,)
                bucket = groups[group].setdefault(parts, {})
                bucket[outcome or "leads"] = bucket.get(outcome or "leads", 0) + int(value)
    first_rows = _attribution_rows(first, ("source_id",))
    last_rows = _attribution_rows(groups["lt"], ("source_id",))
    for row in (*first_rows, *last_rows):
        row["source_kind"] = (kinds or {}).get(row["source_id"])
    journeys = [{"first_source_id": a, "last_source_id": b, "leads": n}
                for (a, b), n in sorted(paths.items(), key=lambda p: (-p[1], p[0])) if n]  # fmt: skip
    return {
        "leads": total,
        "journeys": {"returning": returning, "cross_source": sum(p["leads"] for p in journeys), "paths": journeys},
        "first_touch": {"by_source": first_rows,
                        "by_campaign": _attribution_rows(groups["fc"], ("utm_source", "utm_campaign")),
                        "by_ad_campaign": _attribution_rows(groups["fa"], AD_FIELDS)},
        "last_touch": {"by_source": last_rows,
                       "by_campaign": _attribution_rows(groups["lc"], ("utm_source", "utm_campaign")),
                       "by_ad_campaign": _attribution_rows(groups["la"], AD_FIELDS)},
    }  # fmt: skip
