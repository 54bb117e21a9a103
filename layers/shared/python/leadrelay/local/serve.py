"""`leadrelay local`: run the stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import json
import shlex
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any


def cli_hint() -> str:
    """How to run the `leadrelay` command that belongs to this stack: it is in the virtualenv's
    bin folder, which `make run` does not put on PATH."""
    script = Path(sys.executable).parent / "leadrelay"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    return shown


def next_steps(info: dict[str, Any], local_json: Path, cli: str = ".venv/bin/leadrelay") -> str:
    """What to try first, printed once the stack is up."""
    api = info["api_url"]
    lines = [
        "",
        f"LeadRelay is running on {api}",
        f"  sources, users and their tokens: {local_json}",
        "",
    ]
    source = next((s for s in info.get("sources", []) if s.get("kind") == "generic"), None)
    if source is not None:
        body = '{"name": "Asha Rao", "phone": "9876543210", "city": "Pune", "language": "mr"}'
        lines += [
            "Post a lead:",
            f"  curl -s -X POST {api}/hooks/{source['id']} -H 'X-Api-Key: {source['key']}' \\",
            f"       -H 'Content-Type: application/json' -d {shlex.quote(body)}",
            "",
        ]
    path = json.dumps(str(local_json))
    token = f'$(python3 -c \'import json; print(json.load(open({path}))["users"][0]["token"])\')'
    activate = str(Path(cli).parent / "activate")
    lines += [
        "List leads as admin:",
        f'  curl -s {api}/leads -H "Authorization: Bearer {token}"',
        "",
        "Move the clock (runs the schedules due on the way):",
        f'  curl -s -X POST {api}/_local/clock -H "Authorization: Bearer {token}" \\',
        "       -d '{\"advance_minutes\": 90}'",
        "",
        f"The leadrelay command (not on PATH): {cli} --help",
        f"  or `source {activate}` first, then `leadrelay --help`.",
        f"  {cli} route show      # the live rule chain",
        "",
        "Tokens are re-issued every 45 minutes (local.json is rewritten). Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def serve(*, port: int, demo: bool, state_dir: str, start_at: datetime | None = None) -> int:
    from leadrelay.local.terminal import Terminal, quiet_environment

    quiet_environment()
    from leadrelay.local.stack import LocalStack, StateDirBusy

    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = LocalStack(port=port, demo=demo, state_dir=state_dir, start_at=start_at)
    try:
        stack.start()
    except StateDirBusy as busy:
        print(f"leadrelay local: {busy}", file=sys.stderr)
        return 1
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(
                f"leadrelay local: port {port} is taken; choose another with --port or LEADRELAY_PORT",
                file=sys.stderr,
            )
            return 1
        raise
    terminal = Terminal(stack.clock)
    stack.add_request_listener(terminal.on_request)
    stack.add_tick_listener(terminal.on_tick)
    try:
        assert stack.local_json_path is not None
        print(next_steps(stack.info, stack.local_json_path.resolve(), cli_hint()), flush=True)
        if start_at is not None:
            now = stack.now().astimezone(start_at.tzinfo).isoformat(timespec="seconds")
            print(f"The clock started at {start_at.isoformat()} (--start-at); it reads {now} now.\n", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("leadrelay local: stopping…", flush=True)
        stack.stop()
    return 0
