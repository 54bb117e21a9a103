"""Which route modules a request loads (api_routes/routers.py): the templates of its method that
match its path, each module imported and included once; tests/integration/test_api_lazy_routes.py
checks the index against the real routers and a fresh container against a fully loaded one."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest

from api_routes import routers
from api_routes.route_index import ROUTES


def test_a_request_loads_every_module_with_a_route_of_its_method_that_matches_its_path() -> None:
    # `/leads/export` is also `/leads/{lead_id}`: both load, and the resolver prefers the static one
    assert routers.modules_for("GET", "/leads/export") == ["lead_export", "leads"]
    assert routers.modules_for("GET", "/leads") == ["leads"]
    assert routers.modules_for("post", "/leads") == ["lead_entry"]
    assert routers.modules_for("PATCH", "/leads/01J") == ["lead_entry"]
    assert routers.modules_for("GET", "/leads/01J/activities") == ["activities"]
    assert routers.modules_for("POST", "/agents/me/check-in") == ["offers"]
    assert routers.modules_for("GET", "/agents/me") == ["agents"]
    assert routers.modules_for("GET", "/routing/fairness") == ["fairness"]
    # Not a route: nothing loads (the resolver's 404 is the same as with everything loaded)
    assert routers.modules_for("DELETE", "/leads") == []
    assert routers.modules_for("GET", "/nowhere") == []
    assert routers.modules_for("GET", "/leads/") == ["leads"]  # as the REST resolver: `^/leads/*$`
    assert routers.modules_for("GET", "/leads//") == ["leads"]
    assert routers.modules_for("GET", "//leads") == []
    assert routers.modules_for("GET", "/leadsX") == []
    assert routers.modules_for("GET", "/leads//activities") == []
    assert routers.modules_for("GET", "") == []
    assert routers.modules_for("BREW", "/leads") == []


def test_no_two_parameterised_routes_of_one_method_match_one_path() -> None:
    # Routers load in the order requests arrive, and the resolver tries parameterised routes in the
    # order they were added: that order must not matter. For each pair of templates of one method,
    # the most specific path both could match must be taken by neither (or by a static route).
    keys = [key.split(" ", 1) for key in ROUTES]
    static = {f"{m} {t}" for m, t in keys if "{" not in t}
    clashes = []
    for i, (method, one) in enumerate(keys):
        for other_method, other in keys[i + 1 :]:
            a, b = one.split("/"), other.split("/")
            if method != other_method or len(a) != len(b) or ("{" not in one and "{" not in other):
                continue
            if all(x == y or "{" in x or "{" in y for x, y in zip(a, b, strict=True)):
                merged = "/".join(y if "{" in x else x for x, y in zip(a, b, strict=True))
                if f"{method} {merged}" not in static:
                    clashes.append((method, one, other))
    assert clashes == []


class FakeApp:
    def __init__(self) -> None:
        self.included: list[Any] = []

    def include_router(self, router: Any) -> None:
        self.included.append(router)


@pytest.fixture
def imported(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Route modules 'imported' by name, each a stand-in with its own router."""
    names: list[str] = []

    def import_module(name: str) -> types.SimpleNamespace:
        names.append(name)
        return types.SimpleNamespace(router=f"router of {name}")

    monkeypatch.setattr(routers.importlib, "import_module", import_module)
    return names


def test_a_request_includes_the_routers_it_may_need_once(imported: list[str]) -> None:
    app = FakeApp()
    loaded = routers.Routers(app)  # type: ignore[arg-type]
    assert loaded.loaded == frozenset()
    loaded.serve("GET", "/leads/export")
    loaded.serve("GET", "/leads/export")
    loaded.serve("GET", "/leads/01J")
    assert imported == ["api_routes.lead_export", "api_routes.leads"]
    assert app.included == ["router of api_routes.lead_export", "router of api_routes.leads"]
    assert loaded.loaded == {"lead_export", "leads"}
    loaded.serve("DELETE", "/nowhere")
    assert len(app.included) == 2


def test_load_all_includes_every_module_of_the_index_once(imported: list[str]) -> None:
    app = FakeApp()
    loaded = routers.Routers(app)  # type: ignore[arg-type]
    loaded.serve("POST", "/sync")
    loaded.load_all()
    loaded.load_all()
    assert sorted(imported) == sorted(f"api_routes.{name}" for name in set(ROUTES.values()))
    assert imported[0] == "api_routes.sync"
    assert len(app.included) == len(set(ROUTES.values()))


def test_two_requests_at_once_include_a_router_once(imported: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an import slow enough for a second request to arrive meanwhile
    started, release = threading.Event(), threading.Event()
    fast = routers.importlib.import_module

    def slow(name: str) -> Any:
        started.set()
        release.wait(5)
        return fast(name)

    monkeypatch.setattr(routers.importlib, "import_module", slow)
    app = FakeApp()
    loaded = routers.Routers(app)  # type: ignore[arg-type]
    first = threading.Thread(target=loaded.serve, args=("POST", "/sync"))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=loaded.serve, args=("POST", "/sync"))
    second.start()
    second.join(0.2)  # the second request is waiting (on the lock; without one, on the import)
    assert second.is_alive()
    release.set()
    first.join(5)
    second.join(5)
    # Then the router was included once
    assert app.included == ["router of api_routes.sync"]
    assert imported == ["api_routes.sync"]


def test_a_template_becomes_its_segments_with_parameters_as_wildcards() -> None:
    assert routers._shape("/leads/{lead_id}/activities") == ("", "leads", None, "activities")
    assert routers._shape("/me") == ("", "me")


def test_the_index_is_written_from_each_modules_router(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given route modules with Powertools-shaped route keys (rule, methods, cors, …), and one without routes
    modules = {
        "api_routes.leads": types.SimpleNamespace(
            router=types.SimpleNamespace(
                _routes={("/leads/<lead_id>", ("GET", "put"), True, False): None, ("/leads", ("GET",), None): None}
            )
        ),
        "api_routes.agents": types.SimpleNamespace(
            router=types.SimpleNamespace(_routes={("/agents", ("POST",), None, None): None})
        ),
        "api_routes.common": types.SimpleNamespace(),
    }
    found = [types.SimpleNamespace(name=name) for name in ("leads", "common", "agents")]
    monkeypatch.setattr("pkgutil.iter_modules", lambda path: found)
    monkeypatch.setattr(routers.importlib, "import_module", modules.__getitem__)
    # When the index is generated
    text = routers.generate()
    # Then it is a module binding ROUTES, sorted by path, then method, with `{parameters}`
    namespace: dict[str, Any] = {}
    exec(compile(text, "route_index.py", "exec"), namespace)
    assert list(namespace["ROUTES"].items()) == [
        ("POST /agents", "agents"),
        ("GET /leads", "leads"),
        ("GET /leads/{lead_id}", "leads"),
        ("PUT /leads/{lead_id}", "leads"),
    ]
    assert text.startswith('"""Which module\'s router serves each route.')
    assert "(api_routes/routers.py); do not edit by hand." in text
    assert "\nROUTES: dict[str, str] = {\n" in text
    assert text.endswith("}\n")
    assert '    "GET /leads/{lead_id}": "leads",\n' in text
