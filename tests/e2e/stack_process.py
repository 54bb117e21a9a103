"""`leadrelay local` as a subprocess with chosen options, for the e2e tests that need their own stack
(the docs, the state-folder lock, the terminal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30  # generous: a loaded CI machine stops four stacks at once
LEADRELAY = str(Path(sys.executable).parent / "leadrelay")


@dataclass
class StackProcess:
    process: subprocess.Popen[bytes]
    state_dir: Path
    log_path: Path

    @property
    def info(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "local.json").read_text())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C or a service manager would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"leadrelay local did not stop within {STOP_TIMEOUT_S} s of SIGTERM") from None
        return self.process.returncode


def start_stack(
    state_dir: Path,
    *,
    start_at: str | None = None,
    cwd: Path | None = None,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    wait: bool = True,
    start_timeout_s: float = START_TIMEOUT_S,
) -> StackProcess:
    """`leadrelay local --demo --port 0 --state-dir <state_dir> [--start-at …]`; with `wait`, returns
    once local.json is there (the stack's "ready")."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir.parent / f"{state_dir.name}-{time.monotonic_ns()}.log"
    command = [LEADRELAY, "local", "--demo", "--port", "0", "--state-dir", str(state_dir), *extra_args]
    if start_at is not None:
        command += ["--start-at", start_at]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    environment.update(env or {})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=environment, stdin=subprocess.DEVNULL
        )
    stack = StackProcess(process, state_dir, log_path)
    if wait:
        deadline = time.monotonic() + start_timeout_s
        while not (state_dir / "local.json").exists():
            if process.poll() is not None:
                raise AssertionError(f"leadrelay local exited with {process.returncode}:\n{stack.log()[-3000:]}")
            if time.monotonic() > deadline:
                stack.stop()
                raise AssertionError(f"local.json did not appear within {start_timeout_s} s:\n{stack.log()[-3000:]}")
            time.sleep(0.1)
    return stack


@contextmanager
def running_stack(state_dir: Path, **options: Any) -> Iterator[StackProcess]:
    stack = start_stack(state_dir, **options)
    try:
        yield stack
    finally:
        code = stack.stop()
    assert code == 0, f"leadrelay local exited with {code}:\n{stack.log()[-3000:]}"
