"""`leadrelay login --api-url URL --username NAME`: sign in to any LeadRelay deployment (AWS, or a
local stack) so that every other command (route simulate/backtest, quarantine, import, export)
talks to it with that person's token.

The deployment says how to sign in: its public OpenAPI document carries `x-leadrelay-login`
(region, user pool id, app client id). The password goes to Cognito by SRP (pycognito: a
maintained library, the successor of warrant, that does the SRP maths and the PASSWORD_VERIFIER
challenge), so it never leaves this machine in any form Cognito could replay, and it is never
stored. The ID token and the refresh token are kept in the user's config folder
(`$XDG_CONFIG_HOME/leadrelay/login.json`, else `~/.config/leadrelay/login.json`, mode 0600); an
expired ID token is refreshed with the refresh token before a command uses it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

LOGIN_FILE = "login.json"
REFRESH_MARGIN_S = 60


class LoginError(Exception):
    """Signing in or refreshing failed; the message says what to do."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "leadrelay"


def login_path() -> Path:
    return config_dir() / LOGIN_FILE


def discover(api_url: str) -> dict[str, Any]:
    """How the deployment at `api_url` signs people in (from its public OpenAPI document)."""
    try:
        with urllib.request.urlopen(f"{api_url}/openapi.json", timeout=15) as response:
            document = json.loads(response.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
        raise LoginError(f"cannot read {api_url}/openapi.json ({exc}); is --api-url the API's base URL?") from exc
    login = document.get("x-leadrelay-login") or {}
    if not login.get("user_pool_id") or not login.get("client_id"):
        raise LoginError(f"{api_url} does not say how to sign in (no x-leadrelay-login in its OpenAPI document)")
    return dict(login)


def _cognito(login: dict[str, Any]) -> Any:
    import boto3

    return boto3.client("cognito-idp", region_name=login.get("region") or "ap-south-1",
                        endpoint_url=login.get("cognito_endpoint") or None)  # fmt: skip


def _expiry(id_token: str) -> int:
    """The token's `exp` (it is checked by the API; here only to know when to refresh)."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims["exp"])
    except (IndexError, KeyError, ValueError) as exc:
        raise LoginError("Cognito answered a token that is not a JWT") from exc


def sign_in(api_url: str, username: str, password: str, code: Callable[[], str] = lambda: "") -> dict[str, Any]:
    """SRP sign-in; the record kept in the config folder (tokens, never the password). `code` gives
    the authenticator app's code when Cognito asks for one (admins and managers use TOTP)."""
    try:
        from pycognito import Cognito
        from pycognito.exceptions import SoftwareTokenMFAChallengeException
    except ImportError as exc:
        raise LoginError("signing in needs pycognito: pip install 'leadrelay[login]'") from exc
    from botocore.exceptions import ClientError

    login = discover(api_url)
    user = Cognito(
        login["user_pool_id"], login["client_id"], username=username,
        user_pool_region=login.get("region") or "ap-south-1",
    )  # fmt: skip
    user.client = _cognito(login)  # the deployment's endpoint (a local stack's moto server)
    if login.get("cognito_endpoint"):  # the emulator serves the pool's signing keys itself
        with urllib.request.urlopen(f"{login['cognito_endpoint']}/{login['user_pool_id']}/.well-known/jwks.json",
                                    timeout=15) as keys:  # fmt: skip
            user.pool_jwk = json.loads(keys.read())
    try:
        try:
            user.authenticate(password=password)
        except SoftwareTokenMFAChallengeException as challenge:
            answer = code().strip()
            if not answer:
                raise LoginError("this account signs in with an authenticator app: give its code with --code") from None
            user.respond_to_software_token_mfa_challenge(answer, mfa_tokens=challenge.get_tokens())
    except ClientError as exc:
        raise LoginError(f"Cognito refused the sign-in: {exc.response['Error'].get('Message', exc)}") from exc
    return {**login, "api_url": api_url, "username": username, "id_token": user.id_token,
            "refresh_token": user.refresh_token, "expires_at": _expiry(user.id_token)}  # fmt: skip


def save(record: dict[str, Any]) -> Path:
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".tmp")
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        json.dump(record, file)
    partial.replace(path)
    return path


def saved() -> dict[str, Any] | None:
    try:
        return dict(json.loads(login_path().read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def current_token(record: dict[str, Any], now: float | None = None) -> str:
    """The saved ID token, refreshed first when it is about to expire (and saved again)."""
    now = time.time() if now is None else now
    if int(record.get("expires_at") or 0) - REFRESH_MARGIN_S > now:
        return str(record["id_token"])
    from botocore.exceptions import ClientError

    try:
        result = _cognito(record).initiate_auth(
            ClientId=record["client_id"], AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": record["refresh_token"]},
        )["AuthenticationResult"]  # fmt: skip
    except ClientError as exc:
        raise LoginError(
            f"the sign-in expired and could not be refreshed ({exc}): run `leadrelay login` again"
        ) from exc
    record.update(id_token=result["IdToken"], expires_at=_expiry(result["IdToken"]))
    save(record)
    return str(record["id_token"])


def logged_in_access() -> tuple[str, str] | None:
    """(api_url, token) of the saved sign-in, or None when nobody signed in."""
    record = saved()
    if record is None:
        return None
    return str(record["api_url"]).rstrip("/"), current_token(record)


def run_login(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    api_url = args.api_url.rstrip("/")
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if password is None:
        import getpass

        password = getpass.getpass(f"password for {args.username}: ")

    def code() -> str:
        if args.code:
            return str(args.code)
        if args.password_stdin:
            return sys.stdin.readline()
        return input("authenticator code: ")

    try:
        path = save(sign_in(api_url, args.username, password, code))
    except LoginError as exc:
        print(f"leadrelay login: {exc}", file=err)
        return 2
    print(f"signed in to {api_url} as {args.username} (kept in {path})", file=out)
    return 0
