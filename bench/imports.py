"""Handler import time (the cold-start share we control): a fresh interpreter per measurement."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FUNCTIONS = ("ingest", "route", "followup", "api")
SNIPPET = "import time; t=time.perf_counter(); import {name}_handler; print(time.perf_counter()-t)"


def import_seconds(functions_dir: Path, name: str, *, pycache: str | None, write_bytecode: bool) -> float:
    """Seconds to `import <name>_handler` in a fresh interpreter, as its own process reports it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "AWS_"))}
    env.update(
        PYTHONPATH=str(functions_dir / name),
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_DEFAULT_REGION="ap-south-1",
    )
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = pycache
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(name=name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {name}_handler failed: {done.stderr.strip()[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(functions_dir: Path, runs: int = 3, functions: tuple[str, ...] = FUNCTIONS) -> dict[str, Any]:
    """Median of `runs` fresh imports per function, twice:

    - `ms`: with bytecode caches (warmed by one unmeasured import, kept in a private
      PYTHONPYCACHEPREFIX so the checkout gets no __pycache__): Python's normal warm-disk case;
    - `no_bytecode_ms`: with an empty cache and writing disabled, every module compiled from
      source, as from the Lambda layer, which ships no .pyc (infra/build_layer.py).
    """
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache,
        tempfile.TemporaryDirectory(prefix="bench-nocache-") as empty,
    ):
        for name in functions:
            import_seconds(functions_dir, name, pycache=cache, write_bytecode=True)  # fills the cache
            warm = [import_seconds(functions_dir, name, pycache=cache, write_bytecode=False) for _ in range(runs)]
            cold = [import_seconds(functions_dir, name, pycache=empty, write_bytecode=False) for _ in range(runs)]
            results[name] = {
                "ms": round(statistics.median(warm) * 1000, 1),
                "runs_ms": [round(s * 1000, 1) for s in warm],
                "no_bytecode_ms": round(statistics.median(cold) * 1000, 1),
                "no_bytecode_runs_ms": [round(s * 1000, 1) for s in cold],
            }
    return results
