"""The whole of LeadRelay on one machine: moto on loopback, the real handlers, one clock.

    with LocalStack(port=0, demo=True, state_dir=tmp) as stack:
        requests.post(f"{stack.api_url}/hooks/website", ...)

One stack per process at a time: it sets the process environment (AWS endpoint, table names) that
the handlers read, installs its clock process-wide, and puts both back when it stops.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadrelay import clock as clock_module
from leadrelay import definitions
from leadrelay.clock import OffsetClock
from leadrelay.local.aws import LocalResources, MotoServer, client, create_resources, patched_environ
from leadrelay.local.cognito import LocalUsers, TokenVerifier, UserPool, create_user_pool
from leadrelay.local.containers import RESOLVER_LOCK, ContainerPool, Handler, drop_disabled_metrics, load_handler
from leadrelay.local.context import LocalLambdaContext
from leadrelay.local.gateway import Gateway, RequestLog
from leadrelay.local.graph_standin import GRAPH_PATH, GRAPH_VERSION, GraphStandIn
from leadrelay.local.offer_timers import LocalOfferTimers
from leadrelay.local.offer_timers import create_group as create_offer_timer_group
from leadrelay.local.poller import BatchResult, StreamPoller
from leadrelay.local.seed import Seed, SeedUser
from leadrelay.local.ticker import Ticker
from leadrelay.store.exports import set_local_launcher

log = logging.getLogger("leadrelay.local")

__all__ = ["RESOLVER_LOCK", "ContainerPool", "LocalStack", "StateDirBusy", "default_functions_dir", "load_handler"]
SeedFunction = Callable[[bool], Seed]

FUNCTIONS = ("ingest", "route", "followup", "api", "events", "export")
# moto's ID tokens live one hour; re-issue them well before.
TOKEN_REFRESH_SECONDS = 45 * 60
DRAIN_TIMEOUT_SECONDS = 10.0


def default_functions_dir() -> Path:
    """`functions/` of the checkout this package is installed from (or LEADRELAY_FUNCTIONS_DIR)."""
    configured = os.environ.get("LEADRELAY_FUNCTIONS_DIR")
    if configured:
        return Path(configured)
    import leadrelay

    return Path(leadrelay.__file__).resolve().parents[4] / "functions"


class StateDirBusy(RuntimeError):
    """Another local stack holds the state folder's lock."""


def _forget_cached_wiring() -> None:
    """Settings, clients and repositories are cached per process; the environment just changed."""
    from leadrelay.config import reset_settings

    reset_settings()
    try:
        from leadrelay import wiring
    except ImportError:
        return
    wiring.reset()


def _org_repository() -> Any:
    from leadrelay import wiring

    return wiring.org_repository()


def _demo_seed(demo: bool) -> Seed:
    from leadrelay.local.demo import seed

    return seed(demo)


class LocalStack:
    """Starts and stops the local stack; a context manager.

    Attributes once started: `api_url`, `info` (the local.json content), `clock` (the `OffsetClock`),
    `resources` (table names, DLQ URL, …), `pool`, `gateway`, `poller`, `ticker`, `invocations`
    (a Counter of handler calls by function name). Observe the router with `add_route_listener`,
    HTTP requests with `add_request_listener`, any handler call with `add_invoke_listener`.
    """

    def __init__(
        self,
        port: int = 0,
        demo: bool = False,
        state_dir: str | Path | None = None,
        *,
        seed: SeedFunction | None = None,
        handlers: dict[str, Handler] | None = None,
        functions_dir: Path | None = None,
        moto: MotoServer | None = None,
        token_refresh_seconds: float = TOKEN_REFRESH_SECONDS,
        ticker_check_seconds: float = 1.0,
        poll_idle_seconds: float = 0.02,
        retry_delay_seconds: float = 0.05,
        start_at: datetime | None = None,
    ) -> None:
        self.port = port
        self.demo = demo
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._seed = seed or _demo_seed
        self._handler_overrides = dict(handlers or {})
        self._functions_dir = functions_dir or default_functions_dir()
        self._moto = moto
        self._own_moto = moto is None
        self._token_refresh_seconds = token_refresh_seconds
        self._ticker_check_seconds = ticker_check_seconds
        self._poll_idle_seconds = poll_idle_seconds
        self._retry_delay_seconds = retry_delay_seconds

        self.clock = OffsetClock(start_at)
        self._lock_file: Any = None
        self.handlers: dict[str, Handler] = {}
        self.invocations: Counter[str] = Counter()
        self.info: dict[str, Any] = {}
        self.api_url = ""
        self.resources: LocalResources | None = None
        self.pool: UserPool | None = None
        self.users: LocalUsers | None = None
        self.gateway: Gateway | None = None
        self.poller: StreamPoller | None = None
        # The second mapping on the leads stream: timeline entries → the events function → the bus.
        self.event_poller: StreamPoller | None = None
        self.ticker: Ticker | None = None
        self.graph: GraphStandIn | None = None
        self._invoke_listeners: list[Callable[[str, float, float, BaseException | None], None]] = []
        self._tick_listeners: list[Callable[[Any, dict[str, Any], Any], None]] = []
        self._previous_clock: Any = None
        self._environ: Any = None
        self._stopping = threading.Event()
        self._refresher: threading.Thread | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def local_json_path(self) -> Path | None:
        return self.state_dir / "local.json" if self.state_dir is not None else None

    def start(self) -> LocalStack:
        """Bring everything up; local.json is written last, once traffic can be taken."""
        if self._started:
            return self
        self._started = True
        started = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        log.info("local stack ready on %s in %.1f s", self.api_url, time.monotonic() - started)
        return self

    def _start(self) -> None:
        path = self.local_json_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_state_dir()
            path.unlink(missing_ok=True)  # a stale file would tell clients we are up

        self._previous_clock = clock_module.get_clock()
        clock_module.set_clock(self.clock)

        if self._moto is None:
            self._moto = MotoServer()
        endpoint = self._moto.endpoint
        self.resources = create_resources(endpoint)
        cognito = client("cognito-idp", endpoint)
        self.pool = create_user_pool(cognito)
        env = {
            **self.resources.env(),
            "USER_POOL_ID": self.pool.pool_id,
            "USER_POOL_CLIENT_ID": self.pool.client_id,
            # offer timers finer than the tick: a schedule group on moto, fired by the ticker
            **create_offer_timer_group(client("scheduler", endpoint), client("sqs", endpoint)),
        }
        self._environ = patched_environ(env, remove=("AWS_PROFILE", "AWS_SESSION_TOKEN"))
        self._environ.__enter__()
        _forget_cached_wiring()

        seeded = self._seed(self.demo)
        self.users = LocalUsers(cognito, self.pool, write_records=True)
        self.users.create([SeedUser(username="admin", role="admin"), *seeded.users])

        for name in FUNCTIONS:
            self.handlers[name] = self._handler_overrides.get(name) or load_handler(self._functions_dir, name)

        # The api function invokes the export function asynchronously, as Lambda's Event invoke would.
        set_local_launcher(self._launch_export)

        self.poller = StreamPoller(
            streams_client=client("dynamodbstreams", endpoint),
            stream_arn=self.resources.leads_stream_arn,
            handler=lambda event, context: self._call("route", event, context),
            clock=self.clock,
            sqs_client=client("sqs", endpoint),
            dlq_url=self.resources.dlq_url,
            idle_sleep_s=self._poll_idle_seconds,
            retry_delay_s=self._retry_delay_seconds,
        )
        self.event_poller = StreamPoller(
            streams_client=client("dynamodbstreams", endpoint),
            stream_arn=self.resources.leads_stream_arn,
            handler=lambda event, context: self._call("events", event, context),
            clock=self.clock,
            sqs_client=client("sqs", endpoint),
            dlq_url=self.resources.events_dlq_url,
            mapping=definitions.EVENTS_STREAM,
            function_name="leadrelay-local-events",
            idle_sleep_s=self._poll_idle_seconds,
            retry_delay_s=self._retry_delay_seconds,
        )
        self.offer_timers = LocalOfferTimers(
            client("scheduler", endpoint), lambda event: self.invoke("followup", event)
        )
        self.ticker = Ticker(
            clock=self.clock,
            invoke=self._tick,
            check_every_s=self._ticker_check_seconds,
            timers=self.offer_timers.due,
        )
        self.gateway = Gateway(
            invoke=self.invoke,
            verifier=TokenVerifier(endpoint, self.pool),
            clock=self.clock,
            clock_control=self,
            port=self.port,
        )
        self.graph = GraphStandIn(self.clock)
        self.gateway.local_endpoints[GRAPH_PATH] = self.graph.answer
        self.graph.serve_sources(_org_repository(), f"{self.gateway.url}{GRAPH_PATH}/{GRAPH_VERSION}")
        self.poller.start()
        self.event_poller.start()
        self.ticker.start()
        self.gateway.start()
        self.api_url = self.gateway.url
        self.info = {"api_url": self.api_url, "sources": list(seeded.sources), "users": self.users.as_json()}
        self._write_local_json()
        self._refresher = threading.Thread(target=self._refresh_tokens, name="leadrelay-tokens", daemon=True)
        self._refresher.start()

    def stop(self) -> None:
        """Stop every thread, the gateway and (if this stack started it) moto; remove local.json."""
        self._stopping.set()
        for component in (self.gateway, self.ticker, self.poller, self.event_poller):
            if component is not None:
                try:
                    component.stop()
                except Exception:
                    log.exception("stopping %s failed", type(component).__name__)
        if self._refresher is not None:
            self._refresher.join(5)
        if self._own_moto and self._moto is not None:
            self._moto.stop()
        path = self.local_json_path
        if path is not None and self._lock_file is not None:
            # Only the stack holding the state folder's lock wrote this local.json.
            path.unlink(missing_ok=True)
            self._lock_file.close()  # releases the lock
            self._lock_file = None
        set_local_launcher(None)
        if self._environ is not None:
            self._environ.__exit__(None, None, None)
            self._environ = None
            _forget_cached_wiring()
        if self._previous_clock is not None:
            clock_module.set_clock(self._previous_clock)
            self._previous_clock = None

    def _lock_state_dir(self) -> None:
        """One stack per state folder: hold an exclusive lock on `<state-dir>/local.lock` while
        running; a second stack on the same folder is refused before it touches local.json."""
        assert self.state_dir is not None
        lock_path = self.state_dir / "local.lock"
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the stack's whole life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                handle.close()
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateDirBusy(
                f"another local stack ({holder}) is running with the state folder {self.state_dir}; "
                "stop it, or give this one its own folder with --state-dir or LEADRELAY_STATE_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._lock_file = handle

    # -- handlers ------------------------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke a handler as Lambda would (fresh context); exceptions propagate."""
        return self._call(function, event, LocalLambdaContext(f"leadrelay-local-{function}"))

    def _launch_export(self, export_id: str) -> None:
        """An asynchronous invoke of the export function: a thread; a failure is logged (the job's
        status poll launches a stalled job again, as on AWS after Lambda's retries)."""

        def run() -> None:
            try:
                self.invoke("export", {"export_id": export_id})
            except Exception:
                log.exception("the export function failed on %s", export_id)

        threading.Thread(target=run, name=f"leadrelay-export-{export_id}", daemon=True).start()

    def _tick(self, schedule: Any, event: dict[str, Any]) -> Any:
        result = self.invoke("followup", event)
        for listener in self._tick_listeners:
            try:
                listener(schedule, event, result)
            except Exception:
                log.exception("a tick listener failed")
        return result

    def _call(self, function: str, event: dict[str, Any], context: Any) -> Any:
        self.invocations[function] += 1
        started = time.monotonic()
        error: BaseException | None = None
        try:
            return self.handlers[function](event, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            drop_disabled_metrics()
            for listener in self._invoke_listeners:
                try:
                    listener(function, started, time.monotonic() - started, error)
                except Exception:
                    log.exception("an invoke listener failed")

    def add_invoke_listener(self, listener: Callable[[str, float, float, BaseException | None], None]) -> None:
        """`listener(function, started_monotonic, duration_s, error_or_None)` after each handler call."""
        self._invoke_listeners.append(listener)

    def add_tick_listener(self, listener: Callable[[Any, dict[str, Any], Any], None]) -> None:
        """`listener(schedule, event, result)` after each schedule fired by the ticker."""
        self._tick_listeners.append(listener)

    def add_route_listener(self, listener: Callable[[BatchResult], None]) -> None:
        """`listener(BatchResult)` after each router invocation by the stream poller."""
        assert self.poller is not None, "start the stack first"
        self.poller.add_listener(listener)

    def add_request_listener(self, listener: Callable[[RequestLog], None]) -> None:
        """`listener(RequestLog)` after each HTTP request through the gateway."""
        assert self.gateway is not None, "start the stack first"
        self.gateway.listeners.append(listener)

    # -- the clock -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock, run the ticks due on the way, and wait for the router to catch up."""
        assert self.ticker is not None and self.poller is not None, "start the stack first"
        now = self.ticker.advance(delta)
        if not self.drain(DRAIN_TIMEOUT_SECONDS):
            log.warning("the stream pollers did not catch up within %.0f s", DRAIN_TIMEOUT_SECONDS)
        return now

    def drain(self, timeout: float = DRAIN_TIMEOUT_SECONDS) -> bool:
        """Wait until the router, and then the events function (which also keeps the dashboard's
        counters), have seen every stream record written so far (the router's own writes included)."""
        assert self.poller is not None, "start the stack first"
        routed = self.poller.drain(timeout)
        if self.event_poller is None:
            return routed
        return self.event_poller.drain(timeout) and routed

    # -- tokens and local.json -----------------------------------------------------------------

    def token(self, username: str) -> str:
        assert self.users is not None, "start the stack first"
        return self.users.token(username)

    def _refresh_tokens(self) -> None:
        while not self._stopping.wait(self._token_refresh_seconds):
            try:
                assert self.users is not None
                self.users.refresh()
                self.info["users"] = self.users.as_json()
                self._write_local_json()
                log.info("re-issued ID tokens and rewrote local.json")
            except Exception:
                log.exception("re-issuing tokens failed; retrying in a minute")
                self._stopping.wait(60)

    def _write_local_json(self) -> None:
        path = self.local_json_path
        if path is None:
            return
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # Tokens inside: readable by this user only.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(self.info, indent=2) + "\n")
        os.replace(temporary, path)
