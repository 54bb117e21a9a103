"""The functions' Tracer (leadrelay/tracing.py): the X-Ray SDK is loaded only when tracing is on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "layers" / "shared" / "python"

_PROBE = """
import json, sys
from leadrelay import tracing
tracer = tracing.tracer("route")

@tracer.capture_lambda_handler
def handler(event, context):
    return step(event["n"])

@tracer.capture_method
def step(n):
    return n + 1

class Context:
    function_name, aws_request_id = "leadrelay-route", "r1"

print(json.dumps({"answer": handler({"n": 1}, Context()), "xray_core": "aws_xray_sdk.core" in sys.modules,
                  "disabled": tracer.disabled}))
"""


def _probe(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_", "AWS_SAM"))}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env={**clean, "PYTHONPATH": str(PACKAGE_ROOT), **env},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_tracing_off_as_deployed_by_default_loads_no_xray_sdk_and_handlers_still_run() -> None:
    # Given a function as the CDK deploys it by default (in Lambda, POWERTOOLS_TRACE_DISABLED=true)
    # When its handler, decorated by the Tracer, runs
    seen = _probe(LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true")
    # Then it answers as before, and the X-Ray SDK was never imported
    assert seen == {"answer": 2, "xray_core": False, "disabled": True}


def test_outside_lambda_tracing_is_off_as_powertools_has_it() -> None:
    assert _probe() == {"answer": 2, "xray_core": False, "disabled": True}


@pytest.mark.parametrize("switch", ["false", "0"])
def test_with_xray_sdk_on_the_tracer_is_x_ray_s(switch: str) -> None:
    # Given `-c xray_sdk=true` (POWERTOOLS_TRACE_DISABLED=false) in Lambda
    seen = _probe(
        LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED=switch, AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR"
    )
    # Then the Tracer is Powertools' X-Ray one, enabled
    assert seen["xray_core"] is True
    assert seen["disabled"] is False
