"""The layer build's lazy package inits (infra/lazy_inits.py): the same names, resolved to the same
objects, loaded on first use; anything but a re-export-only `__init__` is refused, never rewritten."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))

import build_layer
import lazy_inits


def installed(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


@pytest.mark.parametrize("package", lazy_inits.LAZY_PACKAGE_INITS)
def test_the_installed_inits_are_still_re_export_only(package: str) -> None:
    # (a Powertools release that puts code in one of them fails here, before any layer is built)
    assert lazy_inits.lazy_init(installed(package).read_text(), package) is not None


@pytest.fixture(scope="module")
def lazy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the installed Powertools with its listed inits rewritten, as the layer ships it."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(installed("aws_lambda_powertools").parent, site / "aws_lambda_powertools")
    assert lazy_inits.apply(site) == list(lazy_inits.LAZY_PACKAGE_INITS)
    return site


PROBE = r"""
import importlib, json, sys
package = sys.argv[1]
lazy = importlib.import_module(package)
same, names = True, list(lazy.__all__)
for name, (module, attribute) in lazy._WHERE.items():
    same &= getattr(lazy, name) is getattr(importlib.import_module(module), attribute)
print(json.dumps({"all": names, "same": same, "dir_has_all": set(names) <= set(dir(lazy))}))
"""

COLD = r"""
import json, sys
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
APIGatewayRestResolver(enable_validation=True)
print(json.dumps(sorted(m for m in ("asyncio", "aws_lambda_powertools.event_handler.appsync",
      "aws_lambda_powertools.event_handler.bedrock_agent", "aws_lambda_powertools.event_handler.vpc_lattice",
      "aws_lambda_powertools.utilities.data_classes.s3_event") if m in sys.modules)))
"""


def run(code: str, *args: str, site: Path | None = None) -> object:
    path = [str(site)] if site else []
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {path!r}\n" + code, *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.parametrize("package", lazy_inits.LAZY_PACKAGE_INITS)
def test_a_lazy_init_declares_the_same_names_and_each_is_the_same_object(lazy_site: Path, package: str) -> None:
    # Given the original's declared __all__
    original = ast.parse(installed(package).read_text())
    declared = next(
        [e.value for e in node.value.elts]  # type: ignore[attr-defined]
        for node in original.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__"
    )
    # When the rewritten package is imported and every name asked for
    probe = run(PROBE, package, site=lazy_site)
    # Then __all__ is the original's, and each name is the very object the original bound
    assert probe == {"all": declared, "same": True, "dir_has_all": True}


def test_the_rest_resolver_no_longer_loads_the_other_resolvers_nor_asyncio(lazy_site: Path) -> None:
    eager = run(COLD)
    lazy = run(COLD, site=lazy_site)
    assert "asyncio" in eager and "aws_lambda_powertools.event_handler.appsync" in eager  # (what it saves)
    assert lazy == []


@pytest.mark.parametrize(
    "source",
    [
        "from a.b.c import X\nif True:\n    from a.b.d import Y\n",  # code, not only re-exports
        "from a.b.c import *\n",  # a star import: the names are not known
        "from other.package import X\n",  # outside the package: may not be a submodule
        "from a.b.c import X\nVERSION = '1'\n",  # an assignment other than __all__
        "from a.b.c import X\n__all__ = ['X', 'Y']\n",  # __all__ names what is not imported
        '"""Only a docstring."""\n',  # nothing to load lazily
        "from a.b.c import X\n__all__ = [name for name in ['X']]\n",  # a computed __all__
        "from ..up import X\n",  # a parent-relative import
    ],
)
def test_anything_but_a_re_export_only_init_is_refused(source: str) -> None:
    assert lazy_inits.lazy_init(source, "a.b") is None


def test_relative_and_aliased_re_exports_resolve_to_their_submodules() -> None:
    lazy = lazy_inits.lazy_init('"""Doc."""\nfrom .c import X as Z, Y\nfrom a.b.d import W\n', "a.b")
    assert lazy is not None
    namespace: dict[str, object] = {}
    exec(compile(lazy, "lazy", "exec"), namespace)
    assert namespace["_WHERE"] == {"Z": ("a.b.c", "X"), "Y": ("a.b.c", "Y"), "W": ("a.b.d", "W")}
    assert namespace["__all__"] == ["W", "Y", "Z"]  # no __all__ declared: the public names bound
    assert namespace["__doc__"].startswith("Doc.")  # type: ignore[union-attr]


def test_apply_skips_a_package_the_layer_lacks_and_stops_on_one_that_changed(tmp_path: Path) -> None:
    assert lazy_inits.apply(tmp_path) == []
    changed = tmp_path / "aws_lambda_powertools" / "event_handler"
    changed.mkdir(parents=True)
    (changed / "__init__.py").write_text("from aws_lambda_powertools.event_handler.x import A\nA.setup()\n")
    with pytest.raises(ValueError, match="not a re-export-only"):
        lazy_inits.apply(tmp_path)
    assert "A.setup()" in (changed / "__init__.py").read_text()  # left as it was


def test_the_layer_build_rewrites_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Path] = []
    monkeypatch.setattr(build_layer.lazy_inits, "apply", lambda site: seen.append(site) or [])
    build_layer.build_layer(tmp_path, requirements=tmp_path / "none.txt", bytecode=False)
    assert seen == [tmp_path / "python"]
