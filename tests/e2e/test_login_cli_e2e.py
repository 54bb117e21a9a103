"""End-to-end: `leadrelay login --api-url …` signs in by Cognito SRP to a running deployment (here
the local stack), keeps the tokens (never the password) in the user's config folder, and every
other command then works against that deployment, refreshing the ID token when it expires.

moto runs the SRP exchange (USER_SRP_AUTH → PASSWORD_VERIFIER) but does not check the password
proof: this proves the client's flow, token keeping and refresh, not Cognito's password check."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def leadrelay(*argv: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "leadrelay"), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, input=stdin,
                          env={**os.environ, **env})  # fmt: skip


def test_login_keeps_tokens_and_every_command_then_talks_to_that_deployment(
    local_stack: LocalStackClient, tmp_path: Path
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    # Given an admin signing in to the deployment by its URL, without the authenticator code first
    refused = leadrelay("login", "--api-url", local_stack.api_url, "--username", "admin", "--password-stdin",
                        env=env, stdin="a-password\n")  # fmt: skip
    assert refused.returncode == 2 and "authenticator app" in refused.stderr, refused.stderr
    # (then with it: the local stack's emulated Cognito takes any code of an enrolled authenticator)
    done = leadrelay("login", "--api-url", local_stack.api_url, "--username", "admin", "--password-stdin",
                     env=env, stdin="a-password\n123456\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Then the tokens are kept in the config folder, readable by the user only, without the password
    kept = tmp_path / "config" / "leadrelay" / "login.json"
    record = json.loads(kept.read_text())
    assert record["api_url"] == local_stack.api_url and record["id_token"] and record["refresh_token"]
    assert "a-password" not in kept.read_text() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    # When commands run with no local stack in their state folder
    empty = str(tmp_path / "no-stack")
    listed = leadrelay("quarantine", "list", "--state-dir", empty, env=env)
    exported = leadrelay("export", "--state-dir", empty, env=env)
    simulated = leadrelay("route", "simulate", "--state-dir", empty, "--lead", '{"city": "Noida"}', env=env)
    # Then they talk to the signed-in deployment
    assert listed.returncode == 0, listed.stderr
    assert exported.returncode == 0 and exported.stdout.startswith("\ufefflead_id"), exported.stderr
    assert simulated.returncode in (0, 1), simulated.stderr  # 1: nobody eligible; both are answers
    # And an expired ID token is refreshed with the refresh token before use
    record["expires_at"] = 0
    kept.write_text(json.dumps(record))
    again = leadrelay("export", "--state-dir", empty, env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(kept.read_text())["expires_at"] > 0


def test_a_url_that_is_not_a_leadrelay_api_is_refused_clearly(tmp_path: Path) -> None:
    done = leadrelay("login", "--api-url", "http://127.0.0.1:9", "--username", "admin", "--password-stdin",
                     env={"XDG_CONFIG_HOME": str(tmp_path)}, stdin="x\n")  # fmt: skip
    assert done.returncode == 2 and "openapi.json" in done.stderr
