"""`leadrelay users`: the first admin of a fresh deployment, through Cognito and the org table."""

from __future__ import annotations

import boto3
import pytest

from leadrelay import wiring
from leadrelay.cli import main


@pytest.fixture
def pool(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("USER_POOL_ID", "")  # the command sets it; put it back afterwards
    return str(boto3.client("cognito-idp").create_user_pool(PoolName="fresh")["UserPool"]["Id"])


def test_the_first_admin_is_invited_and_gets_a_record(aws: dict[str, str], pool: str, capsys) -> None:
    # When the operator invites the owner as the first admin
    code = main(["users", "invite", "--email", "owner@example.in", "--name", "Owner", "--role", "admin",
                 "--user-pool-id", pool, "--org-table", aws["ORG_TABLE"], "--region", "ap-south-1"])  # fmt: skip
    # Then Cognito has the person (standard attributes only) and LeadRelay an admin record for their sub
    assert code == 0
    cognito_user = boto3.client("cognito-idp").admin_get_user(UserPoolId=pool, Username="owner@example.in")
    sub = next(a["Value"] for a in cognito_user["UserAttributes"] if a["Name"] == "sub")
    record = wiring.user_store().get(sub)
    assert record is not None and record.role == "admin" and record.active and record.email == "owner@example.in"
    assert not [a for a in cognito_user["UserAttributes"] if a["Name"].startswith("custom:")]
    assert "TOTP" in capsys.readouterr().out
    # And `users list` shows them
    assert main(["users", "list", "--org-table", aws["ORG_TABLE"]]) == 0
    assert "owner@example.in  admin" in capsys.readouterr().out


def test_missing_settings_and_incomplete_agents_are_refused_with_a_reason(aws: dict[str, str], capsys,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("USER_POOL_ID", "")
    assert main(["users", "invite", "--email", "a@example.in", "--name", "A", "--org-table", "t"]) == 2
    assert "--user-pool-id" in capsys.readouterr().err
    assert main(["users", "invite", "--email", "a@example.in", "--name", "A", "--role", "agent",
                 "--user-pool-id", "p", "--org-table", aws["ORG_TABLE"]]) == 2  # fmt: skip
    assert "--agent-id" in capsys.readouterr().err
