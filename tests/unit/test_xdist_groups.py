"""`make test` keeps the tests that share a stack or a synthesized app on one xdist worker
(tests/xdist_groups.py): checked with two real workers on a throwaway suite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
import pytest
from tests.xdist_groups import pytest_collection_modifyitems  # noqa: F401

@pytest.fixture(scope="session")
def local_stack():
    return "shared"

@pytest.fixture(scope="session")
def synthesized():
    return "app"
"""

RECORD = """
import os
def record(request):
    with open(os.environ["GROUPS_OUT"], "a") as out:
        out.write(f"{os.environ['PYTEST_XDIST_WORKER']} {request.node.name} {request.node.nodeid}\\n")
"""

MODULES = {
    "test_shared_stack.py": "pytestmark = pytest.mark.e2e\n\n@pytest.mark.parametrize('n', range(6))\n"
    "def test_shared(n, local_stack, request):\n    record(request)\n",
    "test_own_stack.py": "pytestmark = pytest.mark.e2e\n\n@pytest.mark.parametrize('n', range(6))\n"
    "def test_own(n, request):\n    record(request)\n",
    "test_infra.py": "pytestmark = pytest.mark.infra\n\n@pytest.mark.parametrize('n', range(6))\n"
    "def test_synth(n, synthesized, request):\n    record(request)\n\n"
    "@pytest.mark.parametrize('n', range(6))\ndef test_variant(n, request):\n    record(request)\n",
    "test_plain.py": "@pytest.mark.parametrize('n', range(12))\ndef test_plain(n, request):\n    record(request)\n",
}


def test_tests_sharing_a_stack_or_the_synthesized_app_run_on_one_worker(tmp_path: Path) -> None:
    # Given a suite shaped like ours: e2e tests on the shared stack, e2e tests on a module's own
    # stack, infra tests on the synthesized app and on variants of their own, and plain tests
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, body in MODULES.items():
        (tmp_path / name).write_text("import pytest\n" + RECORD + "\n" + body)
    out = tmp_path / "groups.txt"
    env = {**os.environ, "GROUPS_OUT": str(out), "PYTHONPATH": str(ROOT)}
    # When it runs as `make test` runs it, on two workers
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
         "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    nodeids: dict[str, list[str]] = defaultdict(list)
    for line in out.read_text().splitlines():
        worker, name, nodeid = line.split(" ", 2)
        workers[name.split("[")[0]].add(worker)
        nodeids[name.split("[")[0]].append(nodeid)
    # Then every group ran whole on one worker, under the group xdist scheduled it by
    assert len(workers["test_shared"]) == 1 and all(n.endswith("@e2e") for n in nodeids["test_shared"])
    assert len(workers["test_own"]) == 1 and all(n.endswith("@e2e-test_own_stack") for n in nodeids["test_own"])
    assert len(workers["test_synth"]) == 1 and all(n.endswith("@infra") for n in nodeids["test_synth"])
    # And the tests that share nothing were scheduled one by one (no group)
    assert not any("@" in n for n in nodeids["test_variant"] + nodeids["test_plain"])
    assert sum(len(ids) for ids in nodeids.values()) == 36
