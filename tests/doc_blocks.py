"""Runnable documentation: find the shell blocks marked `<!-- doc-test -->` in a Markdown file, and
compare what they print with the block shown after them.

The convention (docs/local-stack.md, "Docs that run"):

    <!-- doc-test -->
    ```bash
    curl -s "$API/leads/$LEAD" -H "$AUTH"
    ```
    ```json
    {"lead_id": "01M847B8Z914VCACZZTYWAXZWN", "status": "assigned", "...": "trimmed"}
    ```

- The fenced block right after the marker is run; every marked block of a file runs in order in
  one bash session (variables carry over), stdout and stderr together.
- The fenced block right after it (blank lines allowed between) is the output it must print. No
  output block: it must print nothing.
- Compared after masking what differs from run to run: JWTs, UUIDs, ULIDs (lead ids), keys and
  cursors (long base64 runs), and the time of day in ISO times (the date is compared).
- `…` matches any text within a line, and a value cut short with it (`008a40af-…`, `eyJ…`) any
  value; a line holding only `…` matches any number of lines.
- An output starting with `HTTP/` (curl -i) is compared on the headers it shows; others are
  ignored.
- A ```json output block that parses is compared as JSON: key order is free, a `"...": "trimmed"`
  entry lets the actual object have more keys, and a trailing `"..."` item more list items.

A shell block that cannot run on the local stack (a deploy to AWS, a sign-in to a real Cognito) is
marked `<!-- not-runnable: <why> -->` instead; `unmarked_blocks` lists the shell blocks that are
neither, which tests/unit/test_docs_agree.py refuses.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "<!-- doc-test -->"
NOT_RUNNABLE = re.compile(r"^<!-- not-runnable: (?P<why>\S.*?) -->$")
RUNNABLE = frozenset({"bash", "sh", "shell", "console"})
ELLIPSIS = "…"
TRIMMED_KEY = "..."

_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")


@dataclass(frozen=True)
class DocBlock:
    """A runnable block and the output the doc shows after it (None: it prints nothing)."""

    path: Path
    line: int  # 1-based line of the command block's opening fence
    command: str
    expected: str | None
    expected_lang: str

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def _read_fence(lines: list[str], start: int) -> tuple[str, str, int] | None:
    """(language, body, index after the closing fence) for a fence opening at `start`, else None."""
    opening = _FENCE.match(lines[start])
    if opening is None:
        return None
    indent, fence, lang = opening.groups()
    body: list[str] = []
    for index in range(start + 1, len(lines)):
        closing = lines[index].strip()
        if closing.startswith(fence) and closing.strip(fence[0]) == "":
            return lang, "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in body), index + 1
        body.append(lines[index])
    raise ValueError(f"line {start + 1}: the fence never closes")


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def marked_blocks(path: Path) -> list[DocBlock]:
    """Every block marked runnable in `path`, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[DocBlock] = []
    index = 0
    while index < len(lines):
        if _FENCE.match(lines[index]):  # a marker shown inside a fence is an example, not a marker
            index = _read_fence(lines, index)[2]  # type: ignore[index]
            continue
        if lines[index].strip() != MARKER:
            index += 1
            continue
        start = _skip_blank(lines, index + 1)
        fence = _read_fence(lines, start) if start < len(lines) else None
        if fence is None or fence[0] not in RUNNABLE:
            raise ValueError(f"{path.name}:{index + 1}: {MARKER} must be followed by a ```bash block")
        _, command, after = fence
        expected: str | None = None
        expected_lang = ""
        following = _skip_blank(lines, after)
        if following < len(lines) and _FENCE.match(lines[following]):
            expected_lang, expected, after = _read_fence(lines, following)  # type: ignore[misc]
        blocks.append(DocBlock(path, start + 1, command, expected, expected_lang))
        index = after
    return blocks


def unmarked_blocks(path: Path) -> list[int]:
    """The 1-based lines of the shell blocks in `path` marked neither `<!-- doc-test -->` nor
    `<!-- not-runnable: <why> -->` (a not-runnable marker without a reason does not count)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    unmarked: list[int] = []
    previous = ""
    index = 0
    while index < len(lines):
        if not _FENCE.match(lines[index]):
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        lang, _, after = _read_fence(lines, index)  # type: ignore[misc]
        if lang in RUNNABLE and previous != MARKER and not NOT_RUNNABLE.match(previous):
            unmarked.append(index + 1)
        previous = "```"
        index = after
    return unmarked


# -- comparing -----------------------------------------------------------------------------------

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"), "<jwt>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b(\d{4}-\d\d-\d\d)T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"), r"\1T<time>"),
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"), "<ulid>"),
    (re.compile(r"(?<![\w=-])[\w-]{32,}={0,2}(?![\w=-])"), "<key>"),
)


def mask(text: str) -> str:
    """`text` with run-dependent values replaced by placeholders."""
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text


def _clean(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _only_shown_headers(expected: list[str], actual: list[str]) -> list[str]:
    """curl -i output keeps the status line, the headers the doc shows, and the body."""
    if not (expected and expected[0].startswith("HTTP/") and actual and actual[0].startswith("HTTP/")):
        return actual
    shown = set()
    for line in expected[1:]:
        if not line:
            break
        shown.add(line.split(":", 1)[0].strip().lower())
    kept = [actual[0]]
    for index, line in enumerate(actual[1:], start=1):
        if not line:
            return kept + actual[index:]
        if line.split(":", 1)[0].strip().lower() in shown:
            kept.append(line)
    return kept


# A value cut short in the doc (`008a40af-…`, `eyJwayI6…`, `01M84…`) stands for any value.
_CUT_SHORT = re.compile(r"[\w-]+" + ELLIPSIS)


def _line_pattern(line: str) -> str:
    line = _CUT_SHORT.sub(ELLIPSIS, line)
    return "[^\\n]*?".join(re.escape(piece) for piece in line.split(ELLIPSIS))


def text_matches(expected: str, actual: str) -> bool:
    want = [mask(line) for line in _clean(expected)]
    got = [mask(line) for line in _only_shown_headers(_clean(expected), _clean(actual))]
    pattern = "".join("(?:[^\\n]*\\n)*?" if line.strip() == ELLIPSIS else _line_pattern(line) + "\\n" for line in want)
    return re.fullmatch(pattern, "".join(line + "\n" for line in got)) is not None


def _value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        wanted = {key: value for key, value in expected.items() if key != TRIMMED_KEY}
        if TRIMMED_KEY not in expected and set(wanted) != set(actual):
            return False
        return all(key in actual and _value_matches(value, actual[key]) for key, value in wanted.items())
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if expected and expected[-1] == TRIMMED_KEY:
            head = expected[:-1]
            return len(actual) >= len(head) and all(map(_value_matches, head, actual[: len(head)]))
        return len(expected) == len(actual) and all(map(_value_matches, expected, actual))
    if isinstance(expected, str):
        return isinstance(actual, str) and text_matches(expected, actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def output_matches(expected: str | None, lang: str, actual: str) -> bool:
    """Whether `actual` is the output the doc shows."""
    if expected is None:
        return not _clean(actual)
    if lang == "json":
        try:
            wanted = json.loads(expected)
        except ValueError:
            return text_matches(expected, actual)
        try:
            got = json.loads(actual)
        except ValueError:
            return False
        return _value_matches(wanted, got)
    return text_matches(expected, actual)


def explain(block: DocBlock, actual: str) -> str:
    """A failure message: where the block is, and a diff of the masked texts."""
    want = [mask(line) for line in _clean(block.expected or "")]
    got = [mask(line) for line in _clean(actual)]
    diff = "\n".join(difflib.unified_diff(want, got, "the doc shows", "the block printed", lineterm=""))
    return f"{block.where}: the output differs from the doc\n--- command:\n{block.command}\n{diff}"
