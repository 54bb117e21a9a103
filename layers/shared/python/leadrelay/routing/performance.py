"""Performance weighting (docs/routing.md#performance-weighting): a weighted pool may shift its
members' shares by their recent contact and conversion rates, only above a guaranteed minimum
share per agent. Pure: the rates come from the dashboard's counter cells (kept as things happen,
read by the caller), the weights go to weighted round-robin as input.

For a pool of `n` members with minimum share `m` (`n·m ≤ 1`):

    score_i = weight_i × (1 + contact_weight × contact_rate_i + conversion_weight × conversion_rate_i)
    share_i = m + (1 − n·m) × score_i / Σ score

so every share is at least `m` and the shares add up to 1. The weights are the shares in percent.
Weighted round-robin keeps each agent's count within one lead of its weight-proportional share,
so over a run of `N` leads every member gets at least `m·N` less one (a property test checks it
over long runs: tests/unit/test_performance_weighting.py). While some members are away the
others' shares among the candidates left are only larger than their weights say.

An agent with no assigned leads in the window is scored at the pool's average rates: no data is
neither a reward nor a penalty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from leadrelay.errors import Refused
from leadrelay.models import Agent, Pool, Strategy
from leadrelay.models.agent import PerformanceWeighting
from leadrelay.routing.roster import Roster

_CENT = Decimal("0.01")


class WeightingRefused(ValueError):
    """The setting cannot hold for this pool (e.g. the minimum shares add up to more than all)."""


@dataclass(frozen=True)
class Rates:
    """One agent's counts over the window (leads received in it, as the dashboard counts them)."""

    assigned: int = 0
    contacted: int = 0
    won: int = 0

    @property
    def contact_rate(self) -> float:
        return self.contacted / self.assigned if self.assigned else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.won / self.assigned if self.assigned else 0.0

    def view(self) -> dict[str, Any]:
        return {
            "assigned": self.assigned,
            "contacted": self.contacted,
            "won": self.won,
            "contact_rate": round(self.contact_rate, 4),
            "conversion_rate": round(self.conversion_rate, 4),
        }


def rates_from_cells(cells: Iterable[Mapping[str, Any]]) -> dict[str, Rates]:
    """Per agent, the sums of the dashboard cells' `assigned`, `contacted` and `won` counters."""
    sums: dict[str, list[int]] = {}
    for cell in cells:
        agent_id = str(cell.get("agent_id") or "-")
        if agent_id == "-":
            continue
        row = sums.setdefault(agent_id, [0, 0, 0])
        for index, name in enumerate(("assigned", "contacted", "won")):
            row[index] += int(cell.get(name, 0) or 0)
    return {agent_id: Rates(*row) for agent_id, row in sums.items()}


def performance_weights(
    members: list[Agent], rates: Mapping[str, Rates], setting: PerformanceWeighting
) -> dict[str, Decimal]:
    """Each member's weight: their share of the pool in percent (the part above the guaranteed
    minimum rounded down to 0.01, so no share is ever rounded below the minimum)."""
    if not members:
        return {}
    n = len(members)
    floor = Decimal(str(setting.min_share))
    if floor * n > 1:
        raise WeightingRefused(
            f"a minimum share of {setting.min_share} for each of {n} members adds up to more than all the leads; "
            f"at most {1 / n:.4f}"
        )
    seen = [rates[a.agent_id] for a in members if a.agent_id in rates and rates[a.agent_id].assigned]
    mean_contact = sum(r.contact_rate for r in seen) / len(seen) if seen else 0.0
    mean_conversion = sum(r.conversion_rate for r in seen) / len(seen) if seen else 0.0
    scores: dict[str, Decimal] = {}
    for agent in members:
        r = rates.get(agent.agent_id)
        has_data = r is not None and r.assigned > 0
        contact = r.contact_rate if has_data and r is not None else mean_contact
        conversion = r.conversion_rate if has_data and r is not None else mean_conversion
        score = 1 + setting.contact_weight * contact + setting.conversion_weight * conversion
        scores[agent.agent_id] = Decimal(agent.weight) * Decimal(str(round(score, 6)))
    total = sum(scores.values())
    rest = 1 - floor * n
    return {
        agent_id: (floor * 100 + (rest * score / total * 100).quantize(_CENT, rounding=ROUND_FLOOR))
        for agent_id, score in scores.items()
    }


def weighted_pool(pool: Pool, roster: Roster, rates: Mapping[str, Rates], setting: PerformanceWeighting) -> Pool:
    """`pool` with `setting` on and the weights it gives its members now."""
    members = [roster.agents[a] for a in pool.agent_ids if a in roster.agents]
    weights = performance_weights(members, rates, setting)
    return pool.model_copy(update={"performance_weighting": setting.model_copy(update={"weights": weights})})


def shift(live: Mapping[str, int], draft: Mapping[str, int], members: Iterable[str]) -> dict[str, int]:
    """Per member, the leads the draft gives them more (or fewer) than the live setting does."""
    return {agent_id: draft.get(agent_id, 0) - live.get(agent_id, 0) for agent_id in members}


def proof(pool: Pool, live: Mapping[str, int], draft: Mapping[str, int], rates: Mapping[str, Rates]) -> dict[str, Any]:
    """What a back-test run keeps for one weighted pool (`pool` as the draft had it): the setting
    it replayed, the members, the weights, and per member the leads under the live setting and
    the draft, and whether anything moved. JSON-ready."""
    setting = pool.performance_weighting
    assert setting is not None
    moved = shift(live, draft, pool.agent_ids)
    return {
        "settings": setting.settings(),
        "agent_ids": list(pool.agent_ids),
        "weights": {agent_id: str(weight) for agent_id, weight in setting.weights.items()},
        "rates": {agent_id: rates[agent_id].view() for agent_id in pool.agent_ids if agent_id in rates},
        "live": {agent_id: live.get(agent_id, 0) for agent_id in pool.agent_ids},
        "draft": {agent_id: draft.get(agent_id, 0) for agent_id in pool.agent_ids},
        "shift": moved,
        "shifted": any(moved.values()),
    }


def _same_settings(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return set(a) == set(b) and all(float(a[key]) == float(b[key]) for key in a)


def enable(pool: Pool, before: Pool | None, run: Mapping[str, Any] | None) -> Pool:
    """`pool` as it may be stored: with performance weighting only as a back-test run proved it
    (the run's weights copied in), or unchanged from `before`. Raises `Refused` otherwise."""
    setting = pool.performance_weighting
    if setting is None:
        return pool
    if pool.strategy is not Strategy.WEIGHTED_ROUND_ROBIN:
        raise Refused(
            "weighting_needs_weighted_round_robin",
            "performance weighting shifts the weights of a weighted_round_robin pool; set that strategy",
            422,
        )
    old = before.performance_weighting if before is not None else None
    if (old is not None and before is not None and old.backtest_id == setting.backtest_id
            and _same_settings(old.settings(), setting.settings()) and before.agent_ids == pool.agent_ids):  # fmt: skip
        return pool.model_copy(update={"performance_weighting": setting.model_copy(update={"weights": old.weights})})
    how = ("run POST /routing/backtest with \"performance_weighting\": {\"" + pool.pool_id + "\": {…}} and send "
           "the backtest_id it answers")  # fmt: skip
    if setting.backtest_id is None:
        raise Refused("backtest_required", f"performance weighting is enabled only after a back-test shows it: {how}")
    if run is None:
        raise Refused("backtest_not_found", f"there is no back-test run {setting.backtest_id!r} (kept 30 days): {how}")
    entry = (run.get("pools") or {}).get(pool.pool_id)
    if entry is None:
        raise Refused("backtest_mismatch", f"back-test run {setting.backtest_id} did not replay weighting in pool "
                      f"{pool.pool_id!r}: {how}")  # fmt: skip
    if not _same_settings(entry["settings"], setting.settings()):
        raise Refused("backtest_mismatch", f"back-test run {setting.backtest_id} replayed {dict(entry['settings'])}, "
                      f"not {setting.settings()}: {how}")  # fmt: skip
    if list(entry["agent_ids"]) != list(pool.agent_ids):
        raise Refused("backtest_mismatch", f"back-test run {setting.backtest_id} replayed members "
                      f"{list(entry['agent_ids'])}, not {pool.agent_ids}: {how}")  # fmt: skip
    if not entry.get("shifted"):
        raise Refused("backtest_shows_no_change", f"back-test run {setting.backtest_id} shows no change for pool "
                      f"{pool.pool_id!r}: the weighting would move no lead, so it is not enabled")  # fmt: skip
    weights = {agent_id: Decimal(str(weight)) for agent_id, weight in entry["weights"].items()}
    return pool.model_copy(update={"performance_weighting": setting.model_copy(update={"weights": weights})})
