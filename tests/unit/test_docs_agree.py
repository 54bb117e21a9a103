"""The docs agree with the code, without a stack: every shell block either runs in the docs test or
says why it cannot; every route the api function registers is in docs/api.md's contents table and
every route that table names exists; every `leadrelay` command a doc names is one the CLI has, with
options it takes, and every command the CLI has is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import api_handler
import pytest

from leadrelay.cli import build_parser
from tests.doc_blocks import marked_blocks, unmarked_blocks

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Docs another developer is marking on their own branch: checked once they hold a marked block.
BEING_MARKED_ELSEWHERE = {"dashboard.md"}

# Served by another function (ingest) or only by the local stack's gateway, not by the api resolver.
NOT_API_FUNCTION = {"POST /hooks/{}", "GET /hooks/{}", "GET /_local/clock", "POST /_local/clock"}

_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)[^`]*`")
_PARAM = re.compile(r"\{[^}]*\}")


def _normal(method: str, path: str) -> str:
    return f"{method} {_PARAM.sub('{}', path)}"


def registered_routes() -> set[str]:
    api_handler.routers.load_all()
    routes = (*api_handler.app._static_routes, *api_handler.app._dynamic_routes)
    return {_normal(route.method, route.openapi_path) for route in routes}


def contents_table_routes() -> set[str]:
    """`METHOD /path` spans in the rows of docs/api.md's "## Contents" table."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {_normal(method, path) for row in rows for method, path in _ROUTE.findall(row.split(" | ")[0])}


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_shell_block_runs_in_the_docs_test_or_says_why_it_cannot(doc: Path) -> None:
    if doc.name in BEING_MARKED_ELSEWHERE and not marked_blocks(doc):
        pytest.skip(f"{doc.name} is being marked on another branch")
    # Given a doc, When its shell blocks are read
    unmarked = unmarked_blocks(doc)
    # Then each is marked `<!-- doc-test -->` or `<!-- not-runnable: <why> -->`
    assert not unmarked, (
        f"{doc.name}: the shell blocks at lines {unmarked} are unmarked: mark each `<!-- doc-test -->` "
        "(tests/e2e/test_docs.py runs it; docs/local-stack.md#docs-that-run) or "
        "`<!-- not-runnable: <why> -->`"
    )


def test_every_route_the_api_registers_is_in_the_api_docs_contents() -> None:
    # Given the routes the api function's resolver registers, When docs/api.md's table is read
    missing = registered_routes() - contents_table_routes()
    # Then each has a row (path parameters may be named differently)
    assert not missing, f"docs/api.md's Contents table lacks: {sorted(missing)}"


def test_every_route_the_api_docs_list_exists() -> None:
    # Given docs/api.md's table, Then every route it names is registered (or served outside the api function)
    stale = contents_table_routes() - registered_routes() - NOT_API_FUNCTION
    assert not stale, f"docs/api.md lists routes nothing serves: {sorted(stale)}"


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.add(prefix + name)
                found |= _commands(sub, prefix + name + " ")
    return found


# `leadrelay <command> [<subcommand>]` as a doc writes it (plain, or as .venv/bin/leadrelay).
_CLI_USE = re.compile(r"(?<![\w-])(?:\.venv/bin/)?leadrelay ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)")


def documented_commands() -> dict[str, set[str]]:
    uses: dict[str, set[str]] = {}
    for doc in DOCS:
        for words in _CLI_USE.findall(doc.read_text(encoding="utf-8")):
            uses.setdefault(words, set()).add(doc.name)
    return uses


def test_every_leadrelay_command_a_doc_names_exists() -> None:
    # Given the CLI's commands (`leadrelay --help` and each command's own)
    commands = _commands(build_parser())
    top_level = {command for command in commands if " " not in command}
    # When the docs' `leadrelay <command> [<subcommand>]` are read
    unknown = {}
    for words, docs in documented_commands().items():
        first, _, second = words.partition(" ")
        if first not in top_level:
            continue  # prose ("leadrelay is …"), not a command
        has_subcommands = any(command.startswith(first + " ") for command in commands)
        if has_subcommands and second and f"{first} {second}" not in commands:
            unknown[words] = sorted(docs)
    # Then each names a command the CLI has
    assert not unknown, f"docs name leadrelay commands the CLI lacks: {unknown}"


def test_every_leadrelay_command_is_documented() -> None:
    # Given the CLI's commands, Then each is named in README.md or docs/*.md
    named = {words for words in documented_commands()}
    named |= {words.split(" ")[0] for words in named}
    undocumented = sorted(command for command in _commands(build_parser()) if command not in named)
    assert not undocumented, f"no doc names these leadrelay commands: {undocumented}"


def _parser_for(words: str) -> argparse.ArgumentParser | None:
    parser = build_parser()
    for word in words.split(" "):
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            return parser if word else None
        parser = sub.choices[word]
    return parser


_CLI_LINE = re.compile(r"(?<![\w-])(?:\.venv/bin/)?leadrelay ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)([^`\n]*)")


def test_every_option_a_doc_gives_a_leadrelay_command_is_one_it_takes() -> None:
    # Given each `leadrelay <command> … --option` a doc writes (a command line, up to its closing backtick)
    top_level = {command for command in _commands(build_parser()) if " " not in command}
    unknown: dict[str, set[str]] = {}
    for doc in DOCS:
        for words, rest in _CLI_LINE.findall(doc.read_text(encoding="utf-8")):
            if words.split(" ")[0] not in top_level:
                continue
            parser = _parser_for(words)
            assert parser is not None
            known = {option for action in parser._actions for option in action.option_strings}
            for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest):
                if option not in known:
                    unknown.setdefault(f"{doc.name}: leadrelay {words}", set()).add(option)
    # Then the command takes each option
    assert not unknown, f"docs give leadrelay commands options they do not take: {unknown}"
