"""The functions' Powertools Tracer, with the X-Ray SDK loaded only when its traces are wanted.

Measured in the Lambda layout (docs/benchmarks.md, "X-Ray"): building Powertools' `Tracer`
imports the X-Ray SDK and patches botocore, ~30-40 ms of every cold start's CPU, and even when
`POWERTOOLS_TRACE_DISABLED=true` it still imports the SDK (~30 ms). A traced warm invocation
costs about 0.5-1.6 ms more CPU per lead. So the SDK is off by default (the CDK sets
`POWERTOOLS_TRACE_DISABLED=true`; `-c xray_sdk=true` turns it on, docs/deploy.md): Lambda's
active tracing still records each invocation's own segment (init, invocation, overhead), which
costs the function nothing; only the per-call subsegments (each DynamoDB call) need the SDK.

When tracing is off the same `Tracer` is built with a provider that records nothing, so the
handlers' `@tracer.capture_lambda_handler` / `@tracer.capture_method` decorators stay as they are.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

_TRUTHY = {"1", "true", "yes", "on", "y", "t"}


def tracing_disabled() -> bool:
    """Powertools' own switch (`POWERTOOLS_TRACE_DISABLED`), and off outside Lambda as Powertools is."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY:
        return True
    return not os.environ.get("LAMBDA_TASK_ROOT") or bool(os.environ.get("AWS_SAM_LOCAL"))


def tracer(service: str) -> Tracer:
    """Powertools' Tracer for `service`: X-Ray's when tracing is on, one recording nothing when off."""
    if tracing_disabled():
        return Tracer(service=service, disabled=True, auto_patch=False, provider=UntracedProvider())
    return Tracer(service=service)


class UntracedSegment(BaseSegment):
    """A segment that keeps nothing."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class UntracedProvider(BaseProvider):
    """A Powertools tracing provider that records nothing and imports no X-Ray SDK."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield UntracedSegment()

    @asynccontextmanager  # type: ignore[arg-type]
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> Any:
        yield UntracedSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None
