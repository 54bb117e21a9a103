"""Each function's own code ships with bytecode of the runtime's version, as the layer does.

Lambda's /var/task is read-only and the asset zip keeps no file times: a function folder shipped
as source is compiled again at every cold start (~55 ms of CPU for the api's route modules).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "infra"))

import build_layer  # noqa: E402


def _python() -> str:
    try:
        return build_layer.runtime_python()
    except build_layer.LayerBuildError as missing:
        pytest.skip(str(missing))


def test_a_function_folder_is_shipped_with_unchecked_hash_bytecode_for_every_module(tmp_path):
    # Given the api function's folder (the handler and its route modules)
    python = _python()
    source = REPO_ROOT / "functions" / "api"
    # When it is bundled as the CDK bundles it
    written = build_layer.build_function(source, tmp_path / "api", python=python)
    # Then every module has cpython-313 bytecode whose header says "unchecked hash" (flags 0b01)
    modules = [p for p in (tmp_path / "api").rglob("*.py")]
    assert written == len(modules) == len([p for p in source.rglob("*.py") if "__pycache__" not in p.parts])
    for module in modules:
        pyc = module.parent / "__pycache__" / f"{module.stem}.cpython-313.pyc"
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, pyc
    # and that bytecode is what a 3.13 interpreter runs, whatever the file times: a source edited
    # after the build goes unnoticed, proof that nothing is compiled at the cold start
    access = tmp_path / "api" / "api_routes" / "__init__.py"
    access.write_text(access.read_text() + "\nraise SystemExit('compiled from source')\n")
    done = subprocess.run(
        [python, "-B", "-c", "import api_routes as m; print(m.__cached__)"],
        env={"PYTHONPATH": str(tmp_path / "api")}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("__init__.cpython-313.pyc")
    # and the bytecode names the path the code has on Lambda, so tracebacks point at /var/task
    assert (
        b"/var/task/api_routes/__init__.py" in (access.parent / "__pycache__" / "__init__.cpython-313.pyc").read_bytes()
    )


def test_a_function_folder_that_does_not_compile_stops_the_bundling(tmp_path):
    # Given a function folder with a module that is not Python 3.13
    python = _python()
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "broken_handler.py").write_text("print 'python 2'\n")
    # When it is bundled, Then the build stops and names the module
    with pytest.raises(build_layer.LayerBuildError, match=r"broken_handler\.py"):
        build_layer.build_function(folder, tmp_path / "out", python=python)
