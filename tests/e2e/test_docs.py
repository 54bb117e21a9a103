"""The docs are executed: every block marked `<!-- doc-test -->` in README.md and docs/*.md runs, in
order, against a fresh `leadrelay local --demo --start-at 2026-11-23T18:20+05:30` (one stack per
file, its own port and state folder), and must print the output the doc shows after it
(tests/doc_blocks.py says how outputs are compared). A doc that drifts from the code fails here.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.doc_blocks import DocBlock, explain, marked_blocks, output_matches
from tests.e2e.stack_process import running_stack

# Every doc runs in the first test's setup (one fixture for all): 112 blocks on six stacks take
# 3-5 minutes on the shared, loaded 2-core machine, past the suite's 300 s default.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Monday 18:20 IST: the time the walkthrough's outputs were taken at (README.md says so).
DOCS_START_AT = "2026-11-23T18:20+05:30"
RUN_TIMEOUT_S = 150
# Stacks started at once: each doc has its own, but six starting together on a loaded 2-core machine
# miss their start timeout. The docs with the most blocks start first, so the waves even out.
STACKS_AT_ONCE = 3
# A stack's start under that load (the e2e default, 60 s, is for one stack at a time).
DOCS_START_TIMEOUT_S = 150
SEPARATOR = "@@doc-test-block@@"


def _runnable_docs() -> list[Path]:
    return [path for path in DOCS if marked_blocks(path)]


def _workdir(base: Path) -> Path:
    """A folder that looks like the checkout (every top-level entry linked) with its own
    `.leadrelay`, so the docs' `.leadrelay/local.json` is this stack's, not a developer's."""
    work = base / "checkout"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".leadrelay", ".git"):
            (work / entry.name).symlink_to(entry)
    return work


def _newcomer_env(work: Path) -> dict[str, str]:
    """A shell as a newcomer has it after `make run`: the virtualenv is not on PATH."""
    venv_bin = str(ROOT / ".venv" / "bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADRELAY_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["HOME"] = str(work)
    env["LC_ALL"] = "C.UTF-8"
    return env


def settle_command(info: dict[str, Any]) -> str:
    """Between two pastes a person pauses; here the stack is asked to finish routing what it was
    given (`POST /_local/clock` with 0 minutes waits for the router), so a loaded CI machine
    prints what a person sees. Its output is discarded."""
    token = next(u["token"] for u in info["users"] if u["username"] == "admin")
    return (
        f"curl -s -o /dev/null -X POST '{info['api_url']}/_local/clock' -H 'Authorization: Bearer {token}' "
        "-H 'Content-Type: application/json' -d '{\"advance_minutes\": 0}'"
    )


def run_blocks(blocks: list[DocBlock], work: Path, settle: str = "") -> list[str]:
    """Run the blocks in one bash session in `work`; what each printed (stdout and stderr)."""
    script = ["exec 2>&1", "cd " + str(work)]
    for block in blocks:
        script += [settle, f"printf '\\n{SEPARATOR}\\n'", block.command]
    script.append(f"printf '\\n{SEPARATOR}\\n'")
    path = work.parent / "doc-blocks.sh"
    path.write_text("\n".join(script) + "\n")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=work,
        env=_newcomer_env(work),
    )
    parts = done.stdout.split(f"\n{SEPARATOR}\n")
    return parts[1 : len(blocks) + 1] + [""] * (len(blocks) + 1 - len(parts))


def run_doc(doc: Path) -> list[str]:
    """A fresh demo stack whose clock starts when the docs' outputs were taken; the doc's marked
    blocks pasted into one shell, in order; what each printed."""
    blocks = marked_blocks(doc)
    with tempfile.TemporaryDirectory(prefix="leadrelay-docs-") as base:
        work = _workdir(Path(base))
        with running_stack(
            work / ".leadrelay", start_at=DOCS_START_AT, cwd=work, start_timeout_s=DOCS_START_TIMEOUT_S
        ) as stack:
            return run_blocks(blocks, work, settle_command(stack.info))


@pytest.fixture(scope="module")
def doc_outputs(request: pytest.FixtureRequest) -> dict[Path, list[str] | BaseException]:
    """Every selected doc run on its own stack, `STACKS_AT_ONCE` at a time, longest first: most of
    a run is waiting (stack start, sleeps, subprocesses), so a wave takes about as long as its
    longest doc."""
    selected = [
        item.callspec.params["doc"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_every_marked_block_prints_what_the_doc_shows"
    ]
    selected.sort(key=lambda doc: len(marked_blocks(doc)), reverse=True)
    with ThreadPoolExecutor(max_workers=max(min(len(selected), STACKS_AT_ONCE), 1)) as pool:
        futures = {doc: pool.submit(run_doc, doc) for doc in selected}
    return {doc: future.exception() or future.result() for doc, future in futures.items()}  # type: ignore[misc]


@pytest.mark.parametrize("doc", _runnable_docs(), ids=lambda path: path.name)
def test_every_marked_block_prints_what_the_doc_shows(
    doc: Path, doc_outputs: dict[Path, list[str] | BaseException]
) -> None:
    # Given a fresh demo stack started at 2026-11-23T18:20+05:30, When the doc's blocks are pasted
    outputs = doc_outputs[doc]
    if isinstance(outputs, BaseException):
        raise outputs
    # Then each prints the output shown after it
    blocks = marked_blocks(doc)
    failures = [
        explain(block, out)
        for block, out in zip(blocks, outputs, strict=True)
        if not output_matches(block.expected, block.expected_lang, out)
    ]
    assert not failures, f"{len(failures)} of {len(blocks)} blocks drifted:\n\n" + "\n\n".join(failures)


def main(argv: list[str]) -> int:
    """`python -m tests.e2e.test_docs docs/routing.md`: run a doc's marked blocks on a fresh stack
    and print what each one printed, to write or update its output blocks."""
    for name in argv or [str(path.relative_to(ROOT)) for path in _runnable_docs()]:
        doc = (ROOT / name).resolve()
        blocks = marked_blocks(doc)
        outputs = run_doc(doc)
        for block, out in zip(blocks, outputs, strict=True):
            verdict = "ok" if output_matches(block.expected, block.expected_lang, out) else "DIFFERS"
            print(f"===== {block.where} {verdict}\n{out.strip()}\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
