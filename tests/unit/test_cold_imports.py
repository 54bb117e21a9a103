"""Guard rails for cold starts (issue #15): what importing each handler, as deployed, must not load.

Each handler is imported in a fresh interpreter with the environment the CDK gives it by default
(in Lambda, `POWERTOOLS_TRACE_DISABLED=true`): the X-Ray SDK and boto3 cost tens of milliseconds
of every cold start (docs/benchmarks.md) and none of the handlers needs them; a webhook loads
only the adapter of its own provider; the api loads the domain modules only some of its routes use
when such a route is called, builds its route modules' pydantic models when first used, and has
one DynamoDB client, from the lean botocore session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from api_routes.route_index import ROUTES

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


# Domain modules only some api routes use, imported inside those routes: the privacy store with the
# contact normalisers and phonenumbers (api_routes/privacy.py), the routing engine (simulation) and
# the fairness ledger (routing.py, fairness.py), the dashboard's view arithmetic (dashboard.py), the
# nurture rules (followups.py), the source adapters' package (sources.py, creating a source), and the
# rule chain and roster models (store/org.py loads them with the calls that read them).
API_LAZY_MODULES = (
    "leadrelay.privacy", "leadrelay.models.contact", "phonenumbers", "leadrelay.routing.engine",
    "leadrelay.routing.fairness", "leadrelay.dashboard.view", "leadrelay.followup.nurture", "leadrelay.sources",
    "leadrelay.models.rules", "leadrelay.models.roster",
)  # fmt: skip

_API_PROBE = """
import json, sys
import botocore.loaders, botocore.session
from leadrelay.store.botocore_lean import LeanLoader

stock_loads, clients = [], []
load_data_with_path = botocore.loaders.Loader.load_data_with_path
create_client = botocore.session.Session.create_client

def spy_load(self, name):
    if not isinstance(self, LeanLoader):
        stock_loads.append(name)
    return load_data_with_path(self, name)

def spy_client(self, service, *args, **kwargs):
    clients.append(service)
    return create_client(self, service, *args, **kwargs)

botocore.loaders.Loader.load_data_with_path = spy_load
botocore.session.Session.create_client = spy_client
import pydantic
import api_handler
from api_routes import views
from leadrelay.store import dynamo

at_import = sorted(sys.modules)
api_handler.routers.load_all()  # what the OpenAPI document, or every route called once, loads
models = [value for name, module in list(sys.modules.items()) if name.startswith("api_routes.")
          for value in vars(module).values()
          if isinstance(value, type) and issubclass(value, pydantic.BaseModel) and value.__module__ == name]
built = sorted(model.__qualname__ for model in models if model.__pydantic_complete__)
dynamo.client()
print(json.dumps({"at_import": at_import, "stock_loads": stock_loads, "clients": clients, "models": len(models),
                  "built": built, "views_built": views.LeadView.__pydantic_complete__}))
"""


def _api_import_as_in_lambda() -> dict[str, Any]:
    """The api handler imported as in Lambda: `AWS_LAMBDA_FUNCTION_NAME` set, so its init builds
    the DynamoDB client (wiring.prepare), with botocore's loaders and sessions watched."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_", "AWS_", "PYTHON"))}
    env = {
        **clean,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "functions" / "api"), str(PACKAGE_ROOT)]),
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "leadrelay-api",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_REGION": "ap-south-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", _API_PROBE],
        env=env, cwd=str(REPO_ROOT / "functions" / "api"), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def api_cold_start() -> dict[str, Any]:
    return _api_import_as_in_lambda()


def test_the_api_loads_no_domain_module_that_only_some_routes_use(api_cold_start: dict[str, Any]) -> None:
    # Given the api function imported as deployed
    loaded = set(api_cold_start["at_import"])
    # Then the privacy store (with phonenumbers), the routing engine and the fairness ledger are
    # not loaded: the routes that use them import them (tests/integration cover those routes)
    assert loaded.isdisjoint(API_LAZY_MODULES), sorted(loaded & set(API_LAZY_MODULES))


def test_the_api_imports_no_route_module_at_init(api_cold_start: dict[str, Any]) -> None:
    # Given the api function imported as deployed
    loaded = set(api_cold_start["at_import"])
    # Then no module with routes is loaded yet: a request loads the ones its path may be routed to
    # (api_routes/routers.py; tests/unit/test_api_routers.py)
    route_modules = {f"api_routes.{name}" for name in ROUTES.values()}
    assert len(route_modules) >= 20
    assert loaded.isdisjoint(route_modules), sorted(loaded & route_modules)


def test_the_api_builds_its_route_models_when_first_used(api_cold_start: dict[str, Any]) -> None:
    # Given the api function imported as deployed, with its route modules' request and answer models
    assert api_cold_start["models"] >= 40
    # Then none of them is built yet (`defer_build=True`: each is built by the first request that
    # validates with it, or the OpenAPI document); the views are only documentation
    assert api_cold_start["built"] == [], (
        f"give these api models `model_config = ConfigDict(..., defer_build=True)`: {api_cold_start['built']}"
    )
    assert api_cold_start["views_built"] is False


def test_the_api_has_one_dynamodb_client_from_the_lean_botocore_session(api_cold_start: dict[str, Any]) -> None:
    # Given the api function's init, which builds its DynamoDB client (wiring.prepare)
    # Then exactly one botocore client was created, for DynamoDB, and no stock loader read
    # botocore's data (the 1.2 MB endpoints file, the listing of every service): the client comes
    # from store/botocore_lean.py as in the other functions, and no full botocore/boto3 client is
    # built at init
    assert api_cold_start["clients"] == ["dynamodb"]
    assert api_cold_start["stock_loads"] == []
    loaded = set(api_cold_start["at_import"])
    assert "boto3" not in loaded
    assert "s3transfer" not in loaded
