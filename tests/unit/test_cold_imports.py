"""Guard rails for cold starts (issue #15): what importing each handler, as deployed, must not load.

Each handler is imported in a fresh interpreter with the environment the CDK gives it by default
(in Lambda, `POWERTOOLS_TRACE_DISABLED=true`): the X-Ray SDK and boto3 cost tens of milliseconds
of every cold start (docs/benchmarks.md) and none of the handlers needs them; a webhook loads
only the adapter of its own provider.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO_ROOT / "layers" / "shared" / "python"
HANDLERS = ("ingest", "route", "followup", "api", "events", "export")
PROVIDER_MODULES = {
    "generic", "google_ads", "housing", "indiamart", "justdial", "magicbricks", "meta", "ninety_nine_acres",
    "razorpay", "whatsapp",
}  # fmt: skip

_PROBE = """
import json, sys
import {name}_handler
at_import = sorted(sys.modules)
then = []
if {kind!r}:
    from leadrelay.models import SourceKind
    from leadrelay.sources import adapter_for
    adapter = adapter_for(SourceKind({kind!r}))
    then = sorted(set(sys.modules) - set(at_import))
print(json.dumps({{"at_import": at_import, "then": then, "adapter": type(adapter).__name__ if {kind!r} else None}}))
"""


def _deployed_import(name: str, kind: str = "") -> dict[str, list[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_", "AWS_", "PYTHON"))}
    env = {
        **clean,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "functions" / name), str(PACKAGE_ROOT)]),
        "LAMBDA_TASK_ROOT": "/var/task",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_REGION": "ap-south-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(name=name, kind=kind)],
        env=env, cwd=str(REPO_ROOT / "functions" / name), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", HANDLERS)
def test_no_handler_loads_the_xray_sdk_or_boto3_when_deployed_by_default(name: str) -> None:
    # Given a handler as the CDK deploys it by default, When it is imported (the cold start)
    loaded = set(_deployed_import(name)["at_import"])
    # Then neither the X-Ray SDK's recorder nor boto3 was imported
    assert "aws_xray_sdk.core" not in loaded
    assert "boto3" not in loaded


def test_a_webhook_loads_the_adapter_of_its_own_provider_only() -> None:
    # Given the ingest handler imported as deployed: no provider's adapter is loaded yet
    seen = _deployed_import("ingest", kind="generic")
    assert (
        not {m.rsplit(".", 1)[-1] for m in seen["at_import"] if m.startswith("leadrelay.sources.")} & PROVIDER_MODULES
    )
    # When a generic source's request needs its adapter
    # Then that adapter, and no other provider's module, is loaded
    assert seen["adapter"] == "GenericAdapter"
    loaded = {m.rsplit(".", 1)[-1] for m in seen["then"] if m.startswith("leadrelay.sources.")}
    assert loaded & PROVIDER_MODULES == {"generic"}


def test_every_supported_source_kind_has_its_adapter() -> None:
    from leadrelay.models import SourceKind
    from leadrelay.sources import SUPPORTED_KINDS, adapter_for

    for kind in SourceKind:
        adapter = adapter_for(kind)
        assert (adapter is not None) == (kind in SUPPORTED_KINDS), kind


@pytest.mark.parametrize("name", ["route", "events"])
def test_the_stream_functions_load_neither_powertools_batch_nor_asyncio(name: str) -> None:
    # Given a stream function, When it is imported as deployed
    loaded = set(_deployed_import(name)["at_import"])
    # Then Powertools' batch utility (asyncio and every event source's data classes, ~50-60 ms) is
    # not loaded: leadrelay/stream_batch.py answers its partial batch contract
    assert "aws_lambda_powertools.utilities.batch" not in loaded
    assert "asyncio" not in loaded


def test_the_webhook_function_loads_no_powertools_resolver() -> None:
    # Given the ingest function, When it is imported as deployed
    loaded = set(_deployed_import("ingest")["at_import"])
    # Then Powertools' event handler package (every resolver it has, with asyncio) is not loaded:
    # the one route is read from the proxy event (tests/unit/test_ingest_proxy.py)
    assert "aws_lambda_powertools.event_handler" not in loaded
    assert "asyncio" not in loaded
