"""A provider's pull API on 127.0.0.1 (IndiaMART, 99acres, MagicBricks, Housing): records every
request it gets and answers from a script the test sets, so the pollers run their real urllib
client against it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as the provider saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    at: float

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


Answer = tuple[int, str, bytes]  # status, content type, body


def json_answer(body: Any, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(body).encode()


class FakeProvider:
    """Answers each request with `answer(seen)`; `delay_s` makes it slow (a timeout)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answer: Callable[[Seen], Answer] = lambda seen: json_answer({"CODE": 204, "MESSAGE": "No data"})
        self.delay_s = 0.0
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, split.path, {k: v[0] for k, v in parse_qs(split.query).items()},
                            self.rfile.read(length) if length else b"", time.monotonic())  # fmt: skip
                with provider._lock:
                    provider.seen.append(seen)
                if provider.delay_s:
                    time.sleep(provider.delay_s)
                status, kind, body = provider.answer(seen)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answers(self, *scripted: Answer) -> None:
        """Answer the next requests with these, in order; the last one repeats."""
        queue = list(scripted)

        def next_answer(seen: Seen) -> Answer:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.answer = next_answer
