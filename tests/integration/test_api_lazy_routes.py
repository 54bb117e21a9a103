"""The api's route modules load on first need (api_routes/routers.py): the index is the routers'
own, every request loads every module that could serve it, and a fresh container answers as one
with everything loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import api_handler
from hypothesis import given, settings
from hypothesis import strategies as st

from api_routes import routers
from api_routes.route_index import ROUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
_PARAM = re.compile(r"\{[^}]+\}")


def _all_routes() -> list[Any]:
    api_handler.routers.load_all()
    return [*api_handler.app._static_routes, *api_handler.app._dynamic_routes]


def _concrete(template: str, value: str = "x1") -> str:
    return _PARAM.sub(value, template)


def test_the_index_is_the_routers_own() -> None:
    # Given the committed index and the one generated from the route modules now
    committed = (REPO_ROOT / "functions" / "api" / "api_routes" / "route_index.py").read_text()
    # Then they are the same (regenerate: see api_routes/routers.py)
    assert routers.generate() == committed


def test_every_route_of_the_resolver_is_in_the_index_with_its_module() -> None:
    # Given every route the fully loaded resolver serves (the documentation routes are the handler's own)
    served = {
        f"{route.method} {route.openapi_path}": route.func.__module__.removeprefix("api_routes.")
        for route in _all_routes()
        if route.openapi_path not in ("/openapi.json", "/docs")
    }
    # Then the index names each, with the module that defines it
    assert served == ROUTES


_SEGMENTS = sorted({part for key in ROUTES for part in key.split(" ", 1)[1].split("/") if part and "{" not in part})


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    st.lists(
        st.one_of(st.sampled_from(_SEGMENTS), st.sampled_from(["x1", "me", "", "01J%20", "a.b"]), st.text(max_size=4)),
        min_size=0,
        max_size=5,
    ),
)
def test_any_request_loads_the_module_of_every_route_the_resolver_would_match(method: str, parts: list[str]) -> None:
    # Given any request, its path built mostly from the routes' own segments
    path = "/" + "/".join(parts)
    # When the routers for it are chosen
    chosen = set(routers.modules_for(method, path))
    # Then every route of its method whose rule matches it (by the resolver's own regex) is in a chosen module
    for route in _all_routes():
        if route.method == method and route.rule.match(path) and route.openapi_path not in ("/openapi.json", "/docs"):
            assert route.func.__module__.removeprefix("api_routes.") in chosen, (path, route.openapi_path)


_PROBE = r"""
import json, sys
import api_handler
from api_routes import gate
from leadrelay.auth import Principal, Role

gate.identify_event = lambda event, require_mfa=True: Principal(username="ana", role=Role.ADMIN, user_id="u1")
from tests.helpers import LambdaContext, api_event
after_import = sorted(api_handler.routers.loaded)
answers = []
for method, path, body in json.loads(sys.argv[1]):
    answer = api_handler.handler(api_event(method, path, body=body), LambdaContext())
    body = json.loads(answer["body"])
    answers.append([answer["statusCode"], body.get("error") or len(body.get("paths", ())),
                    sorted(api_handler.routers.loaded)])
print(json.dumps({"after_import": after_import, "answers": answers}))
"""


def _fresh_container(requests: list[tuple[str, str, Any]]) -> dict[str, Any]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))},
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT / "functions" / "api"), str(REPO_ROOT / "layers" / "shared" / "python"), str(REPO_ROOT)]
        ),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(requests)],
        env=env, cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_fresh_container_loads_what_each_request_needs_and_answers_as_if_all_were_loaded() -> None:
    # Given a fresh api container, and requests that the resolver refuses by its own validation (so
    # no store is needed): each answer proves the request reached its route
    seen = _fresh_container(
        [
            ("POST", "/leads", {"name": "no phone or email", "source": 7}),
            ("PUT", "/leads/01J/status", {"status": 12}),
            ("GET", "/nowhere", None),
            ("DELETE", "/leads", None),
            ("PUT", "/pipeline", {"stages": "not a list"}),
        ]
    )
    # Then init loaded no route module
    assert seen["after_import"] == []
    statuses = [(status, error) for status, error, _ in seen["answers"]]
    loaded = [set(names) for _, _, names in seen["answers"]]
    # And each request was validated by its route, with only the modules its path could reach loaded
    assert statuses[0] == (422, "invalid_request")
    assert loaded[0] == {"lead_entry"}
    assert statuses[1] == (422, "invalid_request")
    assert loaded[1] == {"lead_entry", "leads"}
    # A path no route has, and a method a path does not take, are the resolver's usual 404
    assert statuses[2] == (404, "not_found")
    assert statuses[3] == (404, "not_found")
    assert loaded[3] == {"lead_entry", "leads"}
    assert statuses[4] == (422, "invalid_request")
    assert loaded[4] == {"lead_entry", "leads", "pipeline"}


def test_the_openapi_document_loads_every_route_first_however_its_path_is_spelled() -> None:
    # Given a fresh container whose first request is the document, with a trailing slash the
    # resolver accepts, then the document again
    seen = _fresh_container([("GET", "/openapi.json/", None), ("GET", "/openapi.json", None)])
    documented = {key.split(" ", 1)[1] for key in ROUTES}
    # Then both describe every route: the document loaded every route module before it was built
    for status, paths, loaded in seen["answers"]:
        assert status == 200
        assert paths >= len(documented)
        assert set(loaded) == set(ROUTES.values())
