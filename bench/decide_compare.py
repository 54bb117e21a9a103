"""`decide()` of this tree and of another, timed side by side on a shared machine.

    python -m bench.decide_compare /work/main [--rounds 5]

Load from other processes moves every figure; alternating the two trees in fresh processes,
round after round, exposes both to the same load, so their ratio means more than either figure.
Each process times `bench.routing.time_decide` (CPU, median of 7) of its own tree on the same
scenarios: worst case (no rule matches, the default pool of every agent decides) and typical (the
lead's rule half-way down the chain) at 1,000 x 500 and 100 x 50, and the first decision on a
freshly read roster (`first_us`: what the warm indexes cost to build).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CELLS = ((1000, 500), (100, 50))

_PROBE = """
import json, time
from bench.routing import build_scenario, decide_once, time_decide
out = {}
for agents, rules in %r:
    cell = f"{agents}x{rules}"
    out[f"worst {cell}"] = time_decide(build_scenario(agents, rules))["us"]
    out[f"typical {cell}"] = time_decide(build_scenario(agents, rules, matching_rule_at=rules // 2))["us"]
    firsts = []
    for seed in range(5):
        scenario = build_scenario(agents, rules, seed=seed + 11)
        started = time.thread_time_ns()
        decide_once(scenario)
        firsts.append((time.thread_time_ns() - started) / 1000)
    out[f"first {cell}"] = round(sorted(firsts)[2], 1)
print(json.dumps(out))
"""


def _probe(tree: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=f"{tree / 'layers/shared/python'}{os.pathsep}{tree}", PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", _PROBE % (CELLS,)], env=env, cwd=tree, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other tree (e.g. main's worktree)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    runs: dict[str, list[dict[str, float]]] = {"this": [], "base": []}
    for _ in range(args.rounds):
        runs["base"].append(_probe(args.base.resolve()))
        runs["this"].append(_probe(here))
    print(f"{'figure (us, CPU)':<22}{'base':>10}{'this':>10}{'ratio':>8}   (median of {args.rounds} rounds)")
    for key in runs["this"][0]:
        base = statistics.median(run[key] for run in runs["base"])
        this = statistics.median(run[key] for run in runs["this"])
        print(f"{key:<22}{base:>10,.1f}{this:>10,.1f}{base / this:>7.1f}x")


if __name__ == "__main__":
    main()
