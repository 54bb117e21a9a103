"""`leadrelay users`: people on a deployment, straight through Cognito and the org table (boto3),
for the first admin of a fresh stack when nobody can call `POST /users` yet.

    leadrelay users invite --email owner@example.in --name "Owner" --role admin \\
        --user-pool-id ap-south-1_AbC --org-table LeadRelay-dev-Org... --region ap-south-1
    leadrelay users list --user-pool-id … --org-table …

`--user-pool-id`, `--org-table` and `--region` default to USER_POOL_ID, ORG_TABLE and
AWS_REGION (the stack's outputs UserPoolId and OrgTableName name them).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_arguments(subparsers: Any) -> None:
    parser = subparsers.add_parser("users", help="people on a deployment (first admin), via Cognito and the org table")
    commands = parser.add_subparsers(dest="users_command", metavar="<users command>", required=True)
    invite = commands.add_parser(
        "invite",
        help="invite a person: Cognito sends the temporary password; their LeadRelay record is written",
        description="Create the person in the user pool (Cognito emails or texts the temporary password) "
        "and write their LeadRelay user record (role, team, agent).",
    )
    contact = invite.add_mutually_exclusive_group(required=True)
    contact.add_argument("--email")
    contact.add_argument("--phone", help="E.164, e.g. +919812345678")
    invite.add_argument("--name", required=True)
    invite.add_argument("--role", choices=("admin", "manager", "agent"), default="admin")
    invite.add_argument("--team-id")
    invite.add_argument("--agent-id", help="an existing agent profile (agents only)")
    invite.add_argument("--no-message", action="store_true", help="do not send the invitation (you pass it on)")
    listing = commands.add_parser("list", help="every LeadRelay user record")
    for command in (invite, listing):
        command.add_argument("--user-pool-id", default=os.environ.get("USER_POOL_ID"))
        command.add_argument("--org-table", default=os.environ.get("ORG_TABLE"))
        command.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    invite.set_defaults(run=run_invite)
    listing.set_defaults(run=run_list)


def _configure(args: argparse.Namespace, need_pool: bool) -> str | None:
    missing = [name for name, value in (("--org-table", args.org_table),) if not value]
    if need_pool and not args.user_pool_id:
        missing.append("--user-pool-id")
    if missing:
        return f"missing {', '.join(missing)} (or USER_POOL_ID / ORG_TABLE in the environment)"
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ["ORG_TABLE"] = args.org_table
    if args.user_pool_id:
        os.environ["USER_POOL_ID"] = args.user_pool_id
    from leadrelay import wiring

    wiring.reset()
    return None


def run_invite(args: argparse.Namespace) -> int:
    problem = _configure(args, need_pool=True)
    if problem:
        print(f"leadrelay users invite: {problem}", file=sys.stderr)
        return 2
    if args.role == "manager" and not args.team_id:
        print("leadrelay users invite: a manager needs --team-id", file=sys.stderr)
        return 2
    if args.role == "agent" and not args.agent_id:
        print("leadrelay users invite: an agent needs --agent-id (an existing agent profile)", file=sys.stderr)
        return 2
    from leadrelay import wiring
    from leadrelay.clock import get_clock
    from leadrelay.errors import Refused
    from leadrelay.models.user import User

    try:
        invited = wiring.user_directory().invite(
            email=args.email, phone=args.phone, name=args.name, send_invitation=not args.no_message
        )
    except Refused as refused:
        print(f"leadrelay users invite: {refused}", file=sys.stderr)
        return 1
    now = get_clock().now()
    user = User(user_id=invited.user_id, username=invited.username, role=args.role, name=args.name,
                email=args.email, phone=args.phone, team_id=args.team_id, agent_id=args.agent_id,
                created_at=now, created_by="leadrelay users invite")  # fmt: skip
    wiring.user_store().put(user)
    print(f"invited {invited.username} as {args.role} (user id {invited.user_id})")
    if args.role in ("admin", "manager"):
        print("they must pair an authenticator app (TOTP) before the API serves them (docs/deploy.md, MFA)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    problem = _configure(args, need_pool=False)
    if problem:
        print(f"leadrelay users list: {problem}", file=sys.stderr)
        return 2
    from leadrelay import wiring

    for user in wiring.user_store().list():
        mfa = "totp" if user.mfa_enrolled else "no-totp"
        print(f"{user.user_id}  {user.username}  {user.role}  team={user.team_id or '-'}  "
              f"agent={user.agent_id or '-'}  {user.status.value}  {mfa}")  # fmt: skip
    return 0
