"""The local stack's Lambda containers: each function's handler imported as Lambda would (its folder
on the path), in a pool of copies so concurrent calls never share a module's globals."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

# How many copies of a function may run at once. Lambda gives each concurrent request its own
# container, and handlers keep per-invocation state in globals: the batch processor its records
# (per module, so the router runs in several copies), and Powertools' REST resolvers the current
# event — on the `BaseRouter` class itself, shared by every resolver in the process. So ingest and
# api, both resolvers, take turns on one lock; on AWS each container is its own process anyway.
MAX_CONTAINERS = {"ingest": 1, "route": 4, "api": 1, "followup": 1, "events": 1, "export": 2}
RESOLVER_LOCK = threading.Lock()
SHARED_LOCKS = {"ingest": RESOLVER_LOCK, "api": RESOLVER_LOCK}


class ContainerPool:
    """Runs a handler the way Lambda does: each concurrent call in its own copy of the module."""

    def __init__(self, folder: Path, name: str, size: int, shared_lock: Any = None) -> None:
        self.folder = folder
        self.name = name
        self.size = size
        self.shared_lock = shared_lock
        self._free: list[Any] = [importlib.import_module(f"{name}_handler")]
        self._made = 1
        self._lock = threading.Condition()

    def _new_container(self) -> Any:
        module_name = f"{self.name}_handler__container{self._made}"
        spec = importlib.util.spec_from_file_location(module_name, self.folder / f"{self.name}_handler.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def _checkout(self) -> Any:
        with self._lock:
            while not self._free:
                if self._made < self.size:
                    self._made += 1
                    break
                self._lock.wait()
            else:
                return self._free.pop()
        return self._new_container()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        module = self._checkout()
        try:
            if self.shared_lock is None:
                return module.handler(event, context)
            with self.shared_lock:
                return module.handler(event, context)
        finally:
            with self._lock:
                self._free.append(module)
                self._lock.notify()


def load_handler(functions_dir: Path, name: str) -> Handler:
    """`functions/<name>/<name>_handler.py:handler`, imported as Lambda would (its folder on the
    path), behind a pool of containers so concurrent requests never share a module's globals."""
    folder = str(functions_dir / name)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return ContainerPool(functions_dir / name, name, MAX_CONTAINERS.get(name, 1), SHARED_LOCKS.get(name))


def drop_disabled_metrics() -> None:
    """With POWERTOOLS_METRICS_DISABLED, Powertools neither prints nor clears the metrics a handler
    adds: they pile up in one set shared by every `Metrics` in the process, and the 100th value of a
    metric prints the whole set as an EMF blob anyway. On Lambda the set is flushed after every
    call; here, with metrics off, it is dropped after every call instead."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        from aws_lambda_powertools import Metrics

        Metrics().clear_metrics()
