"""What one lead (or follow-up) contributes to the dashboard's counters. Pure: no I/O, no clock.

A lead counts once, in one cell: the organisation-local day it was received × its source × its
team × its agent (the current owner; "-" for none). What it counts there follows from its item
alone (status, assigned_at, first_contacted_at, value…), whichever code path changed it, so:

- the counters are a sum over leads of `lead_contribution(lead item)`;
- a stream record moves a lead's contribution from what was last counted for it to what its new
  image says (`changes(old, new)`); the store remembers what was counted per lead, which makes a
  redelivered or replayed record a no-op and lets a rebuild re-count under new definitions.

Times are measured on the lead: received → assigned (ms) and assigned → first contact (minutes),
each into fixed log-spaced buckets, so distributions add up across cells and days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

NONE = "-"  # no team, no agent (yet)

# Upper bucket edges, inclusive; one more bucket past the last edge holds everything longer.
# 1-2-5 steps: received → assigned from 10 ms to ~28 h, assigned → first contact from 1 min to ~7 days.
ASSIGN_MS_EDGES: tuple[int, ...] = tuple(m * 10**e for e in range(1, 9) for m in (1, 2, 5))
FIRST_CONTACT_MIN_EDGES: tuple[int, ...] = (*(m * 10**e for e in range(0, 4) for m in (1, 2, 5)), 10_000)

# The numbers every group (the whole window, a source, an agent) carries, in this order.
FIELDS: tuple[str, ...] = ("received", "assigned", "contacted", "contacted_within_sla", "won", "lost", "won_value")
# Ways a lead can be picked out (a `stage` of `GET /leads`): each is a yes/no question on one lead.
STAGES: tuple[str, ...] = (
    "received", "assigned", "contacted", "contacted_within_sla", "not_contacted_within_sla",
    "qualified", "won", "lost",
)  # fmt: skip
CATEGORIES = ("open", "won", "lost")


@dataclass(frozen=True)
class Definitions:
    """What the numbers mean for this organisation. A change here is a reason to rebuild."""

    timezone: str = "Asia/Kolkata"
    # Contacted within SLA: first contact no later than this many minutes after the lead arrived.
    sla_minutes: int = 90
    # Custom statuses and their category (open, won or lost); the built-in ones need no entry.
    categories: Mapping[str, str] = field(default_factory=dict)
    # Statuses that mean "qualified" for the funnel (a won lead has passed qualification too).
    qualified_statuses: frozenset[str] = frozenset({"qualified"})

    def category(self, status: str) -> str:
        """open, won or lost: what a status means for conversion."""
        if status in self.categories:
            return self.categories[status]
        if status in ("won", "lost"):
            return status
        return "open"

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class LeadFacts:
    """The few things about a lead the dashboard counts, read from its stored item."""

    lead_id: str
    source_id: str
    team_id: str
    agent_id: str
    status: str
    received_at: datetime
    assigned_at: datetime | None
    first_contacted_at: datetime | None
    value_paise: int
    # Attribution: the first touch is the lead's own source and campaign tags, the last touch the
    # latest arrival of the same person (a touchpoint), when there was one.
    first_campaign: tuple[str, str] = (NONE, NONE)
    last_source_id: str = NONE
    last_campaign: tuple[str, str] = (NONE, NONE)
    returning: bool = False
    # The ad platform's campaign (platform, campaign id, campaign name) when the provider sent one.
    first_ad: tuple[str, str, str] | None = None
    last_ad: tuple[str, str, str] | None = None
    # The category (open, won, lost) the lead's stage had when its status was set (the item's own
    # `category`); None falls back to the definitions (a lead stored before statuses were data).
    category: str | None = None

    def category_in(self, definitions: Definitions) -> str:
        return self.category or definitions.category(self.status)


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paise(value: Any) -> int:
    """Rupees (a number or numeric text) as integer paise; 0 for nothing or nonsense."""
    if value is None or isinstance(value, bool):
        return 0
    try:
        rupees = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return 0
    if not rupees.is_finite() or rupees < 0:
        return 0
    return int((rupees * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def lead_facts(item: Mapping[str, Any]) -> LeadFacts | None:
    """The facts of a lead item (plain values, as `store.dynamo.from_item` gives them, or a
    `Lead.model_dump()`); None for anything that is not a countable lead (a provider's test lead,
    an item without a receipt time)."""
    received_at = _time(item.get("received_at"))
    if received_at is None or not item.get("lead_id") or item.get("test"):
        return None
    value = item.get("value")
    if value is None:
        value = item.get("won_value")
    source_id = str(item.get("source_id") or NONE)
    last = item.get("last_touch") if isinstance(item.get("last_touch"), Mapping) else None
    first_campaign = _campaign(item.get("attribution"))
    return LeadFacts(
        lead_id=str(item["lead_id"]),
        source_id=str(item.get("source_id") or NONE),
        team_id=str(item.get("assigned_team_id") or NONE),
        agent_id=str(item.get("assigned_agent_id") or NONE),
        status=str(item.get("status") or "new"),
        category=str(item["category"]) if item.get("category") in CATEGORIES else None,
        received_at=received_at,
        assigned_at=_time(item.get("assigned_at")),
        first_contacted_at=_time(item.get("first_contacted_at")),
        value_paise=paise(value),
        first_campaign=first_campaign,
        last_source_id=str(last.get("source_id") or source_id) if last else source_id,
        last_campaign=_campaign(last.get("attribution")) if last else first_campaign,
        returning=int(item.get("touch_count") or 1) > 1,
        first_ad=_ad_campaign(item.get("attribution"), item.get("source_kind")),
        last_ad=_ad_campaign(last.get("attribution"), last.get("source_kind"))
        if last
        else _ad_campaign(item.get("attribution"), item.get("source_kind")),
    )


def _ad_campaign(tags: Any, source_kind: Any) -> tuple[str, str, str] | None:
    """(platform, campaign id, campaign name) as the attribution report's `by_ad_campaign` groups
    them; None for a touch that carries only UTM tags."""
    tags = tags if isinstance(tags, Mapping) else {}
    if not (tags.get("campaign_id") or tags.get("campaign_name")):
        return None
    return (str(tags.get("platform") or source_kind), str(tags.get("campaign_id") or "(none)"),
            str(tags.get("campaign_name") or "(none)"))  # fmt: skip


def _campaign(tags: Any) -> tuple[str, str]:
    """(utm_source, utm_campaign) as the attribution report groups them; "(none)" when absent."""
    tags = tags if isinstance(tags, Mapping) else {}
    return (str(tags.get("utm_source") or "(none)"), str(tags.get("utm_campaign") or "(none)"))


# Attribution counters carry a campaign as "<utm_source>\t<utm_campaign>" in their name.
CAMPAIGN_SEPARATOR = "\t"


def bucket(value: float, edges: tuple[int, ...]) -> int:
    """Index of the first bucket whose upper edge holds `value` (len(edges) past the last)."""
    for index, edge in enumerate(edges):
        if value <= edge:
            return index
    return len(edges)


def in_stage(facts: LeadFacts, stage: str, definitions: Definitions) -> bool:
    """Whether the lead counts in `stage` (the same answer the counters and `GET /leads` give)."""
    category = facts.category_in(definitions)
    if stage == "received":
        return True
    if stage == "assigned":
        return facts.assigned_at is not None
    if stage == "contacted":
        return facts.first_contacted_at is not None
    if stage in ("contacted_within_sla", "not_contacted_within_sla"):
        within = facts.first_contacted_at is not None and (
            (facts.first_contacted_at - facts.received_at).total_seconds() <= definitions.sla_minutes * 60
        )
        return within if stage == "contacted_within_sla" else not within
    if stage == "qualified":
        return facts.status in definitions.qualified_statuses or category == "won"
    if stage in ("won", "lost"):
        return category == stage
    raise ValueError(f"unknown stage {stage!r}")


def lead_counts(facts: LeadFacts, definitions: Definitions) -> dict[str, int]:
    """The counters one lead adds to its cell (absent means 0)."""
    counted = (stage for stage in STAGES if stage != "not_contacted_within_sla")
    counts = {stage: 1 for stage in counted if in_stage(facts, stage, definitions)}
    counts[f"s:{facts.status}"] = 1
    if counts.get("won"):
        counts["won_value"] = facts.value_paise
    outcome = {"won": "won", "lost": "lost"}.get(facts.category_in(definitions))
    for prefix, key in (("lt", facts.last_source_id), ("fc", CAMPAIGN_SEPARATOR.join(facts.first_campaign)),
                        ("lc", CAMPAIGN_SEPARATOR.join(facts.last_campaign))):  # fmt: skip
        counts[f"{prefix}:{key}"] = 1
        if outcome:
            counts[f"{prefix}_{outcome}:{key}"] = 1
    for prefix, ad in (("fa", facts.first_ad), ("la", facts.last_ad)):
        if ad is not None:
            key = CAMPAIGN_SEPARATOR.join(ad)
            counts[f"{prefix}:{key}"] = 1
            if outcome:
                counts[f"{prefix}_{outcome}:{key}"] = 1
    if facts.returning:
        counts["returning"] = 1
    if facts.last_source_id != facts.source_id:
        counts[f"xs:{facts.last_source_id}"] = 1
    if facts.assigned_at is not None:
        assign_ms = max(0.0, (facts.assigned_at - facts.received_at).total_seconds() * 1000)
        counts[f"ha:{bucket(assign_ms, ASSIGN_MS_EDGES)}"] = 1
        if facts.first_contacted_at is not None:
            minutes = max(0.0, (facts.first_contacted_at - facts.assigned_at).total_seconds() / 60)
            counts[f"hc:{bucket(minutes, FIRST_CONTACT_MIN_EDGES)}"] = 1
    return {name: value for name, value in counts.items() if value}


@dataclass(frozen=True)
class Contribution:
    """What one item adds to one counter cell: the cell's key, its descriptive fields, the counts."""

    pk: str
    sk: str
    keys: Mapping[str, str]
    counts: Mapping[str, int]


def lead_cell(facts: LeadFacts, definitions: Definitions) -> tuple[str, str, dict[str, str]]:
    """The cell a lead counts in: one partition per month, sorted by day, team, source, agent."""
    day = definitions.local_day(facts.received_at).isoformat()
    keys = {"day": day, "team_id": facts.team_id, "source_id": facts.source_id, "agent_id": facts.agent_id}
    return f"DASH#{day[:7]}", f"{day}#{facts.team_id}#{facts.source_id}#{facts.agent_id}", keys


def lead_contribution(item: Mapping[str, Any] | None, definitions: Definitions) -> Contribution | None:
    """What a lead item (None: the lead is gone) contributes to the counters."""
    facts = lead_facts(item) if item else None
    if facts is None:
        return None
    pk, sk, keys = lead_cell(facts, definitions)
    return Contribution(pk, sk, keys, lead_counts(facts, definitions))


FOLLOWUP_STATES = ("open", "missed", "done")


def followup_contribution(item: Mapping[str, Any] | None, definitions: Definitions) -> Contribution | None:
    """A follow-up counts once as open, missed or done on its org-local due day, for its agent (a
    cancelled one counts nowhere)."""
    if not item or not item.get("followup_id"):
        return None
    # A stored follow-up keeps its due time as `due_time` (its `due_at` is the due-work index's key,
    # which moves on to the missed deadline and goes once it is done).
    due_at = _time(item.get("due_time") or item.get("due_at"))
    status = str(item.get("status") or "open")
    if due_at is None or status not in FOLLOWUP_STATES:
        return None
    day = definitions.local_day(due_at).isoformat()
    agent = str(item.get("agent_id") or NONE)
    keys = {"day": day, "agent_id": agent}
    return Contribution(f"DASHFU#{day[:7]}", f"{day}#{agent}", keys, {f"fu_{status}": 1})


@dataclass(frozen=True)
class CellChange:
    """Counter increments (negative: decrements) for one cell."""

    pk: str
    sk: str
    keys: Mapping[str, str]
    deltas: Mapping[str, int]


def changes(old: Contribution | None, new: Contribution | None) -> list[CellChange]:
    """How the counters move when an item's contribution goes from `old` to `new`: at most two
    cells, no zero deltas (nothing at all when the two are the same)."""
    moves: dict[tuple[str, str], tuple[Mapping[str, str], dict[str, int]]] = {}
    for contribution, sign in ((old, -1), (new, 1)):
        if contribution is None:
            continue
        _, deltas = moves.setdefault((contribution.pk, contribution.sk), (contribution.keys, {}))
        for name, value in contribution.counts.items():
            deltas[name] = deltas.get(name, 0) + sign * value
    result = []
    for (pk, sk), (keys, deltas) in moves.items():
        nonzero = {name: value for name, value in deltas.items() if value}
        if nonzero:
            result.append(CellChange(pk, sk, keys, nonzero))
    return result


def sequence_key(sequence_number: str | None) -> str:
    """Stream sequence numbers compare as numbers; padded to DynamoDB's 40 digits they compare as text."""
    return (sequence_number or "").zfill(40)


@dataclass(frozen=True)
class Marker:
    """What an item is counted as now, and the last stream record that moved it (`seq`, padded)."""

    counted: Contribution | None
    seq: str
    rev: int


def plan(
    marker: Marker | None, new: Contribution | None, sequence_number: str | None
) -> tuple[str, Marker, list[CellChange]]:
    """How to count an item whose marker is `marker` as `new`: the outcome (`stale`: the marker
    has seen this record or a later one; `unchanged`; `applied`), the marker to write and the
    counter moves. A `sequence_number` of None is a rebuild: the marker keeps its own."""
    seq = marker.seq if marker is not None else sequence_key(None)
    rev = marker.rev if marker is not None else 0
    if sequence_number is not None:
        if marker is not None and marker.seq >= sequence_key(sequence_number):
            return "stale", marker, []
        seq = sequence_key(sequence_number)
    moves = changes(marker.counted if marker is not None else None, new)
    return ("applied" if moves else "unchanged"), Marker(new, seq, rev + 1), moves


def months_between(first: date, last: date) -> list[str]:
    """The month partitions ("YYYY-MM") a range of days spans, oldest first."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
