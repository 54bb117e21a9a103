"""Cognito on moto: the user pool, its groups and users, ID tokens, and the authorizer's checks.

moto signs ID tokens with RS256 and serves the public keys at `<moto>/<pool-id>/.well-known/jwks.json`,
so the local gateway verifies real signatures, as API Gateway's Cognito authorizer does.
moto's tokens live one hour; the stack re-issues them well before that (see `LocalStack`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leadrelay.local.aws import REGION
from leadrelay.local.seed import SeedUser

GROUPS = ("admin", "manager", "agent")
_POOL_NAME = "leadrelay-local"


class Unauthorized(Exception):
    """The request carries no token, or one the authorizer refuses (401)."""


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"


def create_user_pool(cognito: Any) -> UserPool:
    """A pool as infra builds it: no custom identity attributes (who a person is lives in LeadRelay's
    user records), TOTP MFA optional per person, the three groups and an app client."""
    pool_id = cognito.create_user_pool(PoolName=_POOL_NAME, MfaConfiguration="OPTIONAL")["UserPool"]["Id"]
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
    )
    for group in GROUPS:
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="leadrelay-local-frontend",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return UserPool(pool_id=pool_id, client_id=client_id)


class LocalUsers:
    """Creates the seed's users in the pool and keeps an ID token for each."""

    def __init__(self, cognito: Any, pool: UserPool, *, write_records: bool = False) -> None:
        self._cognito = cognito
        self._pool = pool
        # Write each person's LeadRelay user record too (the stack does; gateway tests have no tables).
        self._write_records = write_records
        self._users: list[SeedUser] = []
        self._passwords: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, users: Iterable[SeedUser]) -> None:
        """Create each user once (by username), in its role's group, and sign it in."""
        for user in users:
            if any(existing.username == user.username for existing in self._users):
                continue
            if user.role not in GROUPS:
                raise ValueError(f"unknown role {user.role!r} for {user.username!r}")
            attributes = [{"Name": "name", "Value": user.username}]
            password = "Local-" + secrets.token_urlsafe(12) + "9a!"
            self._cognito.admin_create_user(
                UserPoolId=self._pool.pool_id,
                Username=user.username,
                UserAttributes=attributes,
                MessageAction="SUPPRESS",
            )
            self._cognito.admin_set_user_password(
                UserPoolId=self._pool.pool_id, Username=user.username, Password=password, Permanent=True
            )
            self._cognito.admin_add_user_to_group(
                UserPoolId=self._pool.pool_id, Username=user.username, GroupName=user.role
            )
            self._users.append(user)
            self._passwords[user.username] = password
            enrolled = user.role in ("admin", "manager")
            if enrolled:
                self._enrol_totp(user.username)
            self._tokens[user.username] = self._sign_in(user.username)
            if self._write_records:
                self._record(user, enrolled)

    def _enrol_totp(self, username: str) -> None:
        """What a person does in the app: pair an authenticator and turn TOTP on. Cognito then
        asks for a code at every sign-in (moto takes any code)."""
        access = self._initiate(username)["AuthenticationResult"]["AccessToken"]
        self._cognito.associate_software_token(AccessToken=access)
        self._cognito.verify_software_token(AccessToken=access, UserCode="123456")
        self._cognito.set_user_mfa_preference(
            AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )

    def _record(self, user: SeedUser, enrolled: bool) -> None:
        """LeadRelay's user record: role, agent and team are read from here, never from the token."""
        from leadrelay import wiring
        from leadrelay.clock import get_clock
        from leadrelay.models.user import User

        found = self._cognito.admin_get_user(UserPoolId=self._pool.pool_id, Username=user.username)
        sub = next(a["Value"] for a in found["UserAttributes"] if a["Name"] == "sub")
        now = get_clock().now()
        record = User(user_id=sub, username=user.username, role=user.role, name=user.username, agent_id=user.agent_id,
                      team_id=user.team_id, mfa_enrolled=enrolled, mfa_checked_at=now if enrolled else None,
                      created_at=now, created_by="local stack")  # fmt: skip
        wiring.user_store().put(record)

    def _initiate(self, username: str) -> dict[str, Any]:
        result: dict[str, Any] = self._cognito.admin_initiate_auth(
            UserPoolId=self._pool.pool_id,
            ClientId=self._pool.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": self._passwords[username]},
        )
        if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            result = self._cognito.admin_respond_to_auth_challenge(
                UserPoolId=self._pool.pool_id,
                ClientId=self._pool.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=result["Session"],
                ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": "123456"},
            )
        return result

    def _sign_in(self, username: str) -> str:
        return str(self._initiate(username)["AuthenticationResult"]["IdToken"])

    def refresh(self) -> None:
        """Sign every user in again: fresh one-hour ID tokens."""
        fresh = {user.username: self._sign_in(user.username) for user in self._users}
        with self._lock:
            self._tokens.update(fresh)

    def token(self, username: str) -> str:
        with self._lock:
            return self._tokens[username]

    def as_json(self) -> list[dict[str, str]]:
        """The `users` list of local.json."""
        listed = []
        with self._lock:
            for user in self._users:
                entry = {"username": user.username, "role": user.role}
                if user.team_id:
                    entry["team_id"] = user.team_id
                if user.agent_id:
                    entry["agent_id"] = user.agent_id
                entry["token"] = self._tokens[user.username]
                listed.append(entry)
        return listed


class TokenVerifier:
    """The checks of API Gateway's Cognito authorizer, against the pool's keys on moto."""

    def __init__(self, endpoint: str, pool: UserPool, *, leeway_seconds: int = 0) -> None:
        self._jwks_url = f"{endpoint}/{pool.pool_id}/.well-known/jwks.json"
        self._pool = pool
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _signing_keys(self) -> dict[str, Any]:
        with self._lock:
            if self._keys is None:
                import jwt

                with urllib.request.urlopen(self._jwks_url, timeout=5) as response:  # loopback only
                    document = json.load(response)
                self._keys = {key["kid"]: jwt.PyJWK.from_dict(key, algorithm="RS256").key for key in document["keys"]}
            return self._keys

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, or `Unauthorized` with the reason."""
        import jwt

        if not authorization:
            raise Unauthorized("missing Authorization header (expected 'Bearer <ID token>')")
        token = authorization.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthorized(f"malformed token: {error}") from None
        key = self._signing_keys().get(header.get("kid", ""))
        if key is None:
            raise Unauthorized("token signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self._pool.client_id,
                issuer=self._pool.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        if claims.get("token_use") != "id":
            raise Unauthorized("an ID token is required")
        return claims


def _cognito_time(epoch: Any) -> str:
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(int(epoch)))


def authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as a REST API's Cognito authorizer hands them over: strings only, groups comma-joined,
    `exp`/`iat` as dates like `Mon Nov 23 12:00:00 UTC 2026`."""
    passed: dict[str, str] = {}
    for name, value in claims.items():
        if name in ("exp", "iat"):
            passed[name] = _cognito_time(value)
        elif isinstance(value, list):
            passed[name] = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            passed[name] = "true" if value else "false"
        else:
            passed[name] = str(value)
    return passed


def groups_of(claims: dict[str, Any]) -> list[str]:
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        return [group for group in groups.split(",") if group]
    return [str(group) for group in groups]
