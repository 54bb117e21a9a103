"""Pure helpers for the benchmark: percentiles, summaries, targets, the machine, the table."""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PERCENTILE_METHOD = "linear interpolation between closest ranks (numpy's default, Excel PERCENTILE.INC)"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 ≤ q ≤ 100) by linear interpolation between closest ranks.

    Position (n - 1) * q / 100 in the sorted values; between two ranks, interpolate linearly.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    fraction = position - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def summary_ms(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99, min, max and mean of millisecond values, rounded to 0.1 ms."""
    return {
        "p50": round(percentile(values_ms, 50), 1),
        "p95": round(percentile(values_ms, 95), 1),
        "p99": round(percentile(values_ms, 99), 1),
        "min": round(min(values_ms), 1),
        "max": round(max(values_ms), 1),
        "mean": round(statistics.fmean(values_ms), 1),
    }


def per_lead(calls: int, leads: int) -> float:
    """Calls divided by leads, to two decimals (0 when there were no leads)."""
    return round(calls / leads, 2) if leads else 0.0


def machine() -> str:
    """`<nproc> x <cpu model>, Python <version>, <os>` for this machine."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or model
    cores = os.cpu_count() or 0
    return f"{cores} x {model}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


@dataclass(frozen=True)
class Target:
    """A figure from ARCHITECTURE.md "Performance targets" and whether this run met it."""

    key: str
    figure: str
    target: str
    value: float | None
    limit: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "target": self.target,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "result": "PASS" if self.passed else "MISS",
        }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """Plain-text table with aligned columns; column indexes in `right` are right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


@dataclass(frozen=True)
class CpuSnapshot:
    """Machine-wide busy CPU seconds (/proc/stat), this process's own (with children), wall time."""

    busy_s: float | None
    own_s: float
    wall_s: float


def cpu_snapshot() -> CpuSnapshot:
    import time

    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    busy: float | None = None
    try:
        with open("/proc/stat", encoding="utf-8") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        busy = None
    return CpuSnapshot(busy, own, time.monotonic())


def other_load(before: CpuSnapshot, after: CpuSnapshot) -> float | None:
    """Average cores used by other processes between two snapshots (None where unknown)."""
    wall = after.wall_s - before.wall_s
    if before.busy_s is None or after.busy_s is None or wall <= 0:
        return None
    other = (after.busy_s - before.busy_s) - (after.own_s - before.own_s)
    return round(max(0.0, other) / wall, 2)
