"""The `leadrelay` command. Subcommands register themselves in `_SUBCOMMANDS`; imports stay lazy so
`leadrelay --help` is instant."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime


def _add_local(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "local",
        help="run the whole system on this machine (moto on loopback, the real handlers)",
        description="Serve the REST API and the webhooks on http://127.0.0.1:<port> until Ctrl-C or "
        "SIGTERM. Writes <state-dir>/local.json (api_url, sources, users with tokens) once ready.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("LEADRELAY_PORT") or 3000),
        help="port on 127.0.0.1 (default: $LEADRELAY_PORT or 3000; 0 picks a free one)",
    )
    parser.add_argument("--demo", action="store_true", help="seed a demo organisation")
    parser.add_argument(
        "--start-at",
        type=_start_at,
        default=os.environ.get("LEADRELAY_START_AT") or None,
        metavar="TIME",
        help="start the stack's clock at this ISO time with its offset, e.g. 2026-11-23T18:20+05:30, "
        "instead of now (default: $LEADRELAY_START_AT)",
    )
    _add_state_dir(parser)
    parser.set_defaults(run=_run_local)


def _start_at(text: str) -> datetime:
    """`--start-at`: an ISO time that says its offset (shifts are read in the org's time zone)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO time, e.g. 2026-11-23T18:20+05:30") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset; write it as e.g. 2026-11-23T18:20+05:30")
    return moment


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        default=os.environ.get("LEADRELAY_STATE_DIR") or ".leadrelay",
        help="the local stack's folder, where local.json is (default: $LEADRELAY_STATE_DIR or .leadrelay)",
    )


def _run_local(args: argparse.Namespace) -> int:
    from leadrelay.local.serve import serve

    # argparse runs `type` on a string default too, so $LEADRELAY_START_AT is checked like the flag.
    return serve(port=args.port, demo=args.demo, state_dir=args.state_dir, start_at=args.start_at)


def _add_route(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("route", help="routing tools against a running local stack")
    commands = parser.add_subparsers(dest="route_command", metavar="<route command>", required=True)
    simulate = commands.add_parser(
        "simulate",
        help="who would get a lead, and why (no side effects)",
        description="Ask the running stack (found through <state-dir>/local.json) who would get each lead "
        "and why, through POST /routing/simulate. Nothing is written.",
    )
    source = simulate.add_mutually_exclusive_group(required=True)
    source.add_argument("--lead", help='one lead as JSON, e.g. \'{"city": "Noida", "budget": "75 lakh"}\'')
    source.add_argument("--csv", help="a CSV of leads, one per row; columns are lead fields, others go to extra")
    simulate.add_argument("--json", action="store_true", help="one JSON object per lead instead of text")
    _add_state_dir(simulate)
    simulate.set_defaults(run=_run_route_simulate)
    backtest = commands.add_parser(
        "backtest",
        help="replay recent leads through a draft rule chain beside the live one (no side effects)",
        description="Replay the last days of leads through a draft rule chain and the live one, on the running "
        "stack, through POST /routing/backtest: load per agent, cap hits, unassigned leads, rules hit, "
        "and how many leads would change. Nothing is written.",
    )
    backtest.add_argument(
        "--draft",
        required=True,
        help="the draft rule chain, a JSON file: what `leadrelay route show` or GET /routing/rules prints, "
        "edited (as for PUT /routing/rules)",
    )
    backtest.add_argument("--days", type=int, default=30, help="replay the leads of this many days, 1-90 (default 30)")
    backtest.add_argument("--limit", type=int, default=5000, help="at most this many leads, the newest (default 5000)")
    backtest.add_argument("--json", action="store_true", help="the whole report as JSON instead of tables")
    _add_state_dir(backtest)
    backtest.set_defaults(run=_run_route_backtest)
    show = commands.add_parser(
        "show",
        help="the live rule chain as JSON, ready to edit for `route backtest --draft` or PUT /routing/rules",
        description="Print the live rule chain (GET /routing/rules) of the running stack without its version "
        "stamp: save it (`leadrelay route show > draft.json`), edit it, back-test it, publish it.",
    )
    show.add_argument("--version", type=int, help="a past published version instead of the live one")
    _add_state_dir(show)
    show.set_defaults(run=_run_route_show)


def _run_route_simulate(args: argparse.Namespace) -> int:
    from leadrelay.local.route_cli import run_simulate

    return run_simulate(args)


def _run_route_show(args: argparse.Namespace) -> int:
    from leadrelay.local.route_cli import run_show

    return run_show(args)


def _run_route_backtest(args: argparse.Namespace) -> int:
    from leadrelay.local.backtest_cli import run_backtest

    return run_backtest(args)


def _add_quarantine(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("quarantine", help="webhook requests kept in quarantine, on a running local stack")
    commands = parser.add_subparsers(dest="quarantine_command", metavar="<quarantine command>", required=True)
    listing = commands.add_parser(
        "list",
        help="the quarantined requests, newest first, with the reason",
        description="List the requests kept in quarantine (GET /quarantine) on the stack found through "
        "<state-dir>/local.json.",
    )
    listing.add_argument("--limit", type=int, default=50, help="how many (1-100, default 50)")
    listing.add_argument("--cursor", help="continue from a previous page (`more: --cursor …`)")
    listing.add_argument("--json", action="store_true", help="the API's JSON answer instead of text")
    _add_state_dir(listing)
    listing.set_defaults(run=_run_quarantine_list)
    replay = commands.add_parser(
        "replay",
        help="run a quarantined request through capture again (after a mapping or secret fix)",
        description="POST /quarantine/{id}/replay: idempotent; a request that still fails stays in quarantine.",
    )
    replay.add_argument("request_id", help="the request id (from `leadrelay quarantine list`)")
    replay.add_argument("--json", action="store_true", help="the API's JSON answer instead of text")
    _add_state_dir(replay)
    replay.set_defaults(run=_run_quarantine_replay)


def _run_quarantine_list(args: argparse.Namespace) -> int:
    from leadrelay.local.quarantine_cli import run_list

    return run_list(args)


def _run_quarantine_replay(args: argparse.Namespace) -> int:
    from leadrelay.local.quarantine_cli import run_replay

    return run_replay(args)


def _add_import(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "import",
        help="import a CSV of leads (NoBroker, a portal export, a spreadsheet) into a source on a running stack",
        description="POST /sources/{id}/import on the stack found through <state-dir>/local.json: each row goes "
        "through capture like a webhook (normalised, deduped, quarantined when it has no phone or email). "
        "Exit 0: every row stored; 1: some rows quarantined (listed); 2: nothing imported (usage, file, no stack).",
    )
    parser.add_argument("file", help="the CSV file (header row required; UTF-8, UTF-16 or Windows-1252)")
    parser.add_argument("--source", required=True, help="the source's id, a generic or web_form source")
    parser.add_argument(
        "--mapping", help='column → field as JSON or a JSON file, e.g. \'{"Customer Name": "name", "Sr No": null}\''
    )
    parser.add_argument("--json", action="store_true", help="the whole report as JSON instead of a table")
    _add_state_dir(parser)
    parser.set_defaults(run=_run_import)


def _run_import(args: argparse.Namespace) -> int:
    from leadrelay.local.import_cli import run_import

    return run_import(args)


def _add_export(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "export",
        help="the leads of a running stack as one CSV file (UTF-8 with BOM), with the list filters",
        description="GET /leads/export part by part into one file that `leadrelay import` reads back; a large "
        "export the API runs in the background (202) is polled with the progress bar, then downloaded from its "
        "presigned URL. Exit 0: written; 2: nothing written.",
    )
    parser.add_argument("--out", "-o", help="the CSV file to write (default: standard output)")
    for name in ("status", "source_id", "agent_id", "team_id", "tag", "received_from", "received_to"):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"only leads with this {name}")
    parser.add_argument("-q", dest="q", help="search: a phone, an email or the start of a name")
    parser.add_argument("--date-format", choices=("iso", "indian"), help="indian: 23-11-2026 18:05 (org time zone)")
    _add_state_dir(parser)
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from leadrelay.local.export_cli import run_export

    return run_export(args)


def _add_login(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "login",
        help="sign in to a LeadRelay deployment (AWS or a local stack) for the other commands",
        description="Cognito SRP sign-in; the ID and refresh tokens (never the password) are kept in "
        "~/.config/leadrelay/login.json. Commands then use it when no local stack runs in --state-dir, or "
        "always with LEADRELAY_USE_LOGIN=1.",
    )
    parser.add_argument("--api-url", required=True, help="the API's base URL (the stack output ApiUrl)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (and the authenticator code, when asked, "
                        "from the next line)")  # fmt: skip
    parser.add_argument("--code", help="the authenticator app's current code (admins and managers sign in with TOTP)")
    parser.set_defaults(run=_run_login)


def _run_login(args: argparse.Namespace) -> int:
    from leadrelay.local.login_cli import run_login

    return run_login(args)


def _add_report(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "report",
        help="the dashboard as tables in the terminal and PNG charts, from a running stack",
        description="GET /dashboard on the stack found through <state-dir>/local.json, printed as tables; "
        "charts (leads and revenue by source, funnel, speed to lead, leaderboard) need the `report` extra.",
    )
    parser.add_argument("--from", dest="from_", help="first org-local day, YYYY-MM-DD (default today)")
    parser.add_argument("--to", help="last org-local day, YYYY-MM-DD (default today)")
    parser.add_argument("--team", help="one team's dashboard")
    parser.add_argument("--out", default=".leadrelay/report", help="folder for the PNGs (default .leadrelay/report)")
    parser.add_argument("--no-charts", action="store_true", help="tables only")
    parser.add_argument("--json", action="store_true", help="the API's JSON answer instead of tables")
    _add_state_dir(parser)
    parser.set_defaults(run=_run_report)
    dashboard = subparsers.add_parser("dashboard", help="the dashboard's counters on a running stack")
    commands = dashboard.add_subparsers(dest="dashboard_command", metavar="<dashboard command>", required=True)
    rebuild = commands.add_parser(
        "rebuild",
        help="re-count the dashboard from the leads (after an SLA or status category change)",
        description="POST /dashboard/rebuild until every lead is re-counted; safe while leads arrive, and to repeat.",
    )
    rebuild.add_argument("--since", help="only leads received from this org-local day on, YYYY-MM-DD")
    _add_state_dir(rebuild)
    rebuild.set_defaults(run=_run_dashboard_rebuild)


def _run_report(args: argparse.Namespace) -> int:
    from leadrelay.local.report_cli import run_report

    return run_report(args)


def _run_dashboard_rebuild(args: argparse.Namespace) -> int:
    from leadrelay.local.report_cli import run_rebuild

    return run_rebuild(args)


def _add_search(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("search", help="the search index, on a running stack or a signed-in deployment")
    commands = parser.add_subparsers(dest="search_command", metavar="<search command>", required=True)
    reindex = commands.add_parser(
        "reindex",
        help="give leads stored before the search index existed their search items (one-off, idempotent)",
        description="POST /search/reindex until every lead is read; writes only the items a lead lacks, "
        "safe while leads arrive, and to repeat.",
    )
    reindex.add_argument("--batch", type=int, default=500, help="leads per call (default 500, at most 5000)")
    _add_state_dir(reindex)
    reindex.set_defaults(run=_run_search_reindex)


def _run_search_reindex(args: argparse.Namespace) -> int:
    from leadrelay.local.search_cli import run_reindex

    return run_reindex(args)


# Each entry adds one subcommand to the parser; later work appends (route simulate, quarantine…).
def _add_users(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from leadrelay.users_cli import add_arguments

    add_arguments(subparsers)


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [  # type: ignore[type-arg]
    _add_local,
    _add_route,
    _add_quarantine,
    _add_users,
    _add_import,
    _add_export,
    _add_login,
    _add_report,
    _add_search,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadrelay",
        description="LeadRelay: the local stack, and tools that talk to a running one (routing, quarantine, import).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return int(run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
