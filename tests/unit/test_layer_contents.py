"""The Lambda layer ships a list of the product's modules, never the laptop-only ones.

Builds the layer's own package (no wheel download) and imports every shipped module in a fresh
interpreter whose path holds the built layer and the third-party runtime packages, with the
source tree out of reach: a shipped module that needs the local stack, the CLI or a development
package fails here, not on AWS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "infra"))

import build_layer  # noqa: E402

PACKAGE = REPO_ROOT / "layers" / "shared" / "python" / "leadrelay"

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
sys.path[:] = [p for p in sys.path if p]  # no current folder
import leadrelay
assert leadrelay.__file__.startswith(sys.argv[1]), leadrelay.__file__
names = [m.name for m in pkgutil.walk_packages(leadrelay.__path__, "leadrelay.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""


def _top_level_entries() -> set[str]:
    return {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__" and (p.is_dir() or p.suffix == ".py")}


def test_every_module_of_the_package_is_either_shipped_or_declared_laptop_only():
    # Given the package's top-level modules and subpackages
    entries = _top_level_entries()
    # Then each one is in exactly one list: a new module must be placed on purpose
    unplaced = entries - set(build_layer.SHIPPED) - set(build_layer.DEV_ONLY)
    assert not unplaced, f"put {sorted(unplaced)} in SHIPPED or DEV_ONLY in infra/build_layer.py"
    assert not set(build_layer.SHIPPED) & set(build_layer.DEV_ONLY)
    assert not set(build_layer.SHIPPED) - entries, "SHIPPED lists modules that do not exist"


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer")
    build_layer.build_layer(out, requirements=out / "none.txt", bytecode=False)
    return out / "python"


def test_the_built_layer_holds_the_shipped_list_and_nothing_for_laptops(built_layer: Path):
    package = built_layer / "leadrelay"
    assert {p.name for p in package.iterdir()} == set(build_layer.SHIPPED)
    assert not (package / "local").exists()
    assert not (package / "cli.py").exists()
    assert not list(built_layer.rglob("__pycache__"))


def test_every_shipped_module_imports_without_laptop_or_development_modules(built_layer: Path):
    # Given a fresh interpreter that sees the built layer and the runtime's third-party packages,
    # but not the source tree (where the local stack lives)
    purelib = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": f"{built_layer}:{purelib}", "PYTHONNOUSERSITE": "1", "AWS_DEFAULT_REGION": "ap-south-1",
           "PYTHONDONTWRITEBYTECODE": "1", "POWERTOOLS_TRACE_DISABLED": "true"}  # fmt: skip
    # When it imports every module the layer ships
    done = subprocess.run(
        [sys.executable, "-S", "-c", _IMPORT_ALL, str(built_layer)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then every one imports
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "leadrelay.routing.engine" in result["imported"]
    # and nothing for laptops or development was loaded along the way
    loaded = result["modules"]
    laptop = [m for m in loaded if m == "leadrelay.cli" or m.startswith("leadrelay.local")]
    development = [m for m in loaded if m.split(".")[0] in build_layer.DEV_ONLY_THIRD_PARTY]
    assert laptop == []
    assert development == []


def test_the_layer_build_refuses_a_compiler_of_another_python_version(monkeypatch, tmp_path):
    # Given LEADRELAY_LAYER_PYTHON points at this interpreter, which is not the runtime's version
    if sys.version_info[:2] == (3, 13):
        pytest.skip("this interpreter is the runtime's version")
    monkeypatch.setenv("LEADRELAY_LAYER_PYTHON", sys.executable)
    # When the layer is built for Lambda, Then it stops and says why, before any download
    with pytest.raises(build_layer.LayerBuildError, match=r"not 3\.13"):
        build_layer.build_layer(tmp_path / "layer", requirements=tmp_path / "none.txt")
    assert not (tmp_path / "layer").exists()


def test_the_layer_bytecode_is_compiled_by_the_runtime_version_and_survives_lost_file_times(tmp_path):
    # Given a Python of the runtime's version on this machine
    try:
        python = build_layer.runtime_python()
    except build_layer.LayerBuildError as missing:
        pytest.skip(str(missing))
    # When the layer is built with bytecode
    build_layer.build_layer(tmp_path / "layer", requirements=tmp_path / "none.txt")
    site = tmp_path / "layer" / "python"
    pyc = site / "leadrelay" / "routing" / "__pycache__" / "engine.cpython-313.pyc"
    # Then every module has cpython-313 bytecode whose header says "unchecked hash" (flags = 0b01)
    assert pyc.is_file()
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    # and a 3.13 interpreter runs that bytecode even when the source's file time changed (a zip
    # keeps none): a source edited after the build goes unnoticed, proof that nothing recompiles
    errors = site / "leadrelay" / "errors.py"
    errors.write_text(errors.read_text() + "\nraise SystemExit('compiled from source')\n")
    done = subprocess.run(
        [python, "-B", "-c", "import leadrelay.errors as m; print(m.__cached__)"],
        env={"PYTHONPATH": str(site)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("errors.cpython-313.pyc")
