"""PNG charts of a dashboard, for `leadrelay report`. matplotlib comes with the `report` extra
(`pip install 'leadrelay[report]'`): the CLI's, never the Lambda layer's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

CHARTS = ("sources", "funnel", "speed", "leaderboard")
BLUE, GREEN, GREY, RED = "#2b6cb0", "#2f855a", "#a0aec0", "#c53030"


class ChartsUnavailable(Exception):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ChartsUnavailable("charts need matplotlib: pip install 'leadrelay[report]'") from exc
    return plt


def _label(edge: int | None) -> str:
    """A first-contact bucket's upper edge in minutes, as a person reads it."""
    if edge is None:
        return "more"
    return f"≤{edge // 60}h" if edge >= 120 else f"≤{edge}m"


def _sources(ax: Any, answer: Mapping[str, Any]) -> None:
    sources = list(answer["by_source"])
    rows = [answer["by_source"][s] for s in sources]
    positions = range(len(sources))
    ax.barh([p + 0.2 for p in positions], [r["received_share"] for r in rows], height=0.4, color=BLUE,
            label="share of leads")  # fmt: skip
    ax.barh([p - 0.2 for p in positions], [r["won_value_share"] for r in rows], height=0.4, color=GREEN,
            label="share of revenue won")  # fmt: skip
    ax.set_yticks(list(positions), sources)
    ax.invert_yaxis()
    ax.set_xlabel("% of the window's total")
    ax.set_title("Leads and revenue by source")
    ax.legend(loc="lower right", fontsize=8)


def _funnel(ax: Any, answer: Mapping[str, Any]) -> None:
    stages = ["received", "assigned", "contacted", "qualified", "won"]
    values = [answer.get(stage, 0) for stage in stages]
    bars = ax.bar(stages, values, color=[BLUE, BLUE, BLUE, BLUE, GREEN])
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(str(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=8)  # fmt: skip
    ax.set_title(f"Funnel by stage (lost: {answer.get('lost', 0)})")
    ax.set_ylabel("leads")


def _speed(ax: Any, answer: Mapping[str, Any]) -> None:
    speed = answer["speed_to_lead"]["first_contact_minutes"]
    counts = [b["count"] for b in speed["buckets"]]
    labels = [_label(b["le"]) for b in speed["buckets"]]
    last = max((i for i, c in enumerate(counts) if c), default=0)
    ax.bar(labels[: last + 1], counts[: last + 1], color=BLUE)
    ax.set_title(f"Speed to lead: assigned → first contact (p50 ≤ {speed['p50']} min, p90 ≤ {speed['p90']} min)",
                 fontsize=9)  # fmt: skip
    ax.set_ylabel("leads")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)


def _leaderboard(ax: Any, answer: Mapping[str, Any]) -> None:
    rows = answer["leaderboard"][:10]
    agents = [row["agent_id"] for row in rows]
    from matplotlib.ticker import FuncFormatter

    ax.barh(agents, [row["won_value"] for row in rows], color=GREEN)
    for position, row in enumerate(rows):
        ax.annotate(f" {row['won']} won · {row['contacted_within_sla']} in SLA", (row["won_value"], position),
                    va="center", fontsize=7, color="#2d3748")  # fmt: skip
    ax.invert_yaxis()
    ax.margins(x=0.25)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"₹{value / 100_000:g}L"))
    ax.set_xlabel("revenue won (₹ lakh)")
    ax.set_title("Agent leaderboard")


DRAW = {"sources": _sources, "funnel": _funnel, "speed": _speed, "leaderboard": _leaderboard}


def write_charts(answer: Mapping[str, Any], folder: Path) -> list[Path]:
    """One PNG per chart, and `dashboard.png` with all four; returns the files written."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CHARTS:
        figure, ax = plt.subplots(figsize=(7, 4), dpi=110)
        DRAW[name](ax, answer)
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    figure, axes = plt.subplots(2, 2, figsize=(13, 8), dpi=100)
    for ax, name in zip(axes.flat, CHARTS, strict=True):
        DRAW[name](ax, answer)
    window = answer.get("window", {})
    scope = f" · team {window['team_id']}" if window.get("team_id") else ""
    figure.suptitle(f"LeadRelay dashboard {window.get('from')} → {window.get('to')}{scope}", fontsize=12)
    figure.tight_layout()
    path = folder / "dashboard.png"
    figure.savefig(path)
    plt.close(figure)
    written.append(path)
    return written
