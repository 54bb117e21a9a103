"""`leadrelay local`: run the stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import json
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def next_steps(info: dict[str, Any], local_json: Path) -> str:
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
    lines += [
        "List leads as admin:",
        f'  curl -s {api}/leads -H "Authorization: Bearer {token}"',
        "",
        "Move the clock (runs the schedules due on the way):",
        f'  curl -s -X POST {api}/_local/clock -H "Authorization: Bearer {token}" \\',
        "       -d '{\"advance_minutes\": 90}'",
        "",
        "Tokens are re-issued every 45 minutes (local.json is rewritten). Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def serve(*, port: int, demo: bool, state_dir: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # CloudWatch EMF lines would drown the terminal (one per handler call); opt back in by setting
    # POWERTOOLS_METRICS_DISABLED=false.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from leadrelay.local.stack import LocalStack

    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = LocalStack(port=port, demo=demo, state_dir=state_dir)
    try:
        stack.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(
                f"leadrelay local: port {port} is taken; choose another with --port or LEADRELAY_PORT",
                file=sys.stderr,
            )
            return 1
        raise
    try:
        assert stack.local_json_path is not None
        print(next_steps(stack.info, stack.local_json_path.resolve()), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("leadrelay local: stopping…", flush=True)
        stack.stop()
    return 0
