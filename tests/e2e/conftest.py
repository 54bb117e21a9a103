"""End-to-end: `leadrelay local --demo` as a subprocess, exercised over HTTP like any client would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


class LocalStackClient:
    """The running stack as local.json describes it, plus a small HTTP helper."""

    process: subprocess.Popen[bytes] | None = None

    def __init__(self, info: dict[str, Any], state_dir: Path, log_path: Path) -> None:
        self.info = info
        self.api_url: str = info["api_url"]
        self.sources: list[dict[str, Any]] = info["sources"]
        self.users: list[dict[str, Any]] = info["users"]
        self.state_dir = state_dir
        self.log_path = log_path
        self.http = requests.Session()

    def user(self, role_or_username: str) -> dict[str, Any]:
        """The first user with that username, else the first with that role."""
        for user in self.users:
            if user["username"] == role_or_username:
                return user
        for user in self.users:
            if user["role"] == role_or_username:
                return user
        raise KeyError(role_or_username)

    def source(self, kind: str = "generic") -> dict[str, Any]:
        return next(source for source in self.sources if source["kind"] == kind)

    def auth(self, role_or_username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.user(role_or_username)['token']}"}

    def request(self, method: str, path: str, *, as_user: str | None = None, **kwargs: Any) -> requests.Response:
        """`as_user` (a role or a username) adds that user's token."""
        headers = dict(kwargs.pop("headers", None) or {})
        if as_user is not None:
            headers.update(self.auth(as_user))
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, f"{self.api_url}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def settle(self) -> None:
        """Wait until the router and the events poller have seen every write so far (leads an
        earlier test posted included): `POST /_local/clock` by 0 minutes drains the stream pollers."""
        answer = self.post("/_local/clock", json={"advance_minutes": 0}, as_user="admin", timeout=60)
        assert answer.status_code == 200, answer.text

    def stop(self) -> None:
        """SIGTERM the stack now (its fixture still checks at the end that it exited 0)."""
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackClient]:
    """`leadrelay local --demo` on a free port; stopped with SIGTERM (it must exit 0 within 10 s)."""
    state_dir = tmp_path_factory.mktemp("leadrelay-state")
    log_path = state_dir / "stack.log"
    local_json = state_dir / "local.json"
    command = [
        str(Path(sys.executable).parent / "leadrelay"),
        "local",
        "--demo",
        "--port",
        str(_free_port()),
        "--state-dir",
        str(state_dir),
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not local_json.exists():
            if process.poll() is not None:
                pytest.fail(f"leadrelay local exited with {process.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"local.json did not appear within {START_TIMEOUT_S} s:\n{_tail(log_path)}")
            time.sleep(0.1)
        client = LocalStackClient(json.loads(local_json.read_text()), state_dir, log_path)
        client.process = process
        yield client
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail(f"leadrelay local did not stop within {STOP_TIMEOUT_S} s of SIGTERM")
    assert process.returncode == 0, f"leadrelay local exited with {process.returncode}:\n{_tail(log_path)}"


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackClient]:
    """One demo stack shared by the e2e tests that leave the demo organisation as they found it."""
    yield from running_stack(tmp_path_factory)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """The shared stack stops after the last test that uses it: an idle stack (ticker, stream
    poller, moto server) keeps about a quarter of a core busy, and the session's other tests on
    this worker would otherwise run beside it to the end (on a 2-core machine, an eighth of it)."""
    stack = getattr(item, "funcargs", {}).get("local_stack")
    result = yield
    if isinstance(stack, LocalStackClient):
        later = item.session.items[item.session.items.index(item) + 1 :]
        if not any("local_stack" in getattr(other, "fixturenames", ()) for other in later):
            stack.stop()
    return result


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackClient]:
    """A demo stack of the module's own, for tests that change the organisation at random (a fuzzer
    with an admin token edits settings, pools and people), so the shared stack stays as seeded."""
    yield from running_stack(tmp_path_factory)
