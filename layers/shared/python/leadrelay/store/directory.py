"""The Cognito user pool as LeadRelay uses it: invite a person (Cognito sends the temporary
password), disable and sign them out everywhere, enable, and ask whether TOTP protects their sign-in.

Only standard attributes are written (email, phone_number, name): who a person is to the
organisation lives in LeadRelay's user records, never in attributes a person could edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from leadrelay.errors import Refused


@lru_cache(maxsize=1)
def _client() -> Any:
    return boto3.client(
        "cognito-idp", config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)
    )


def reset_client() -> None:
    _client.cache_clear()


@dataclass(frozen=True)
class Invited:
    user_id: str  # the sub
    username: str


class DirectoryError(Refused):
    """Cognito refused what was asked (e.g. the person exists already)."""


class UserDirectory:
    """Admin calls on one user pool."""

    def __init__(self, pool_id: str) -> None:
        if not pool_id:
            raise DirectoryError("no_user_pool", "USER_POOL_ID is not set: the API cannot manage people", 503)
        self.pool_id = pool_id

    def invite(
        self, *, email: str | None, phone: str | None, name: str | None, send_invitation: bool = True
    ) -> Invited:
        """Create the person; Cognito sends the temporary password (email, or SMS for a phone)."""
        attributes = [{"Name": "name", "Value": name}] if name else []
        if email:
            attributes += [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if phone:
            attributes += [{"Name": "phone_number", "Value": phone}, {"Name": "phone_number_verified", "Value": "true"}]
        request: dict[str, Any] = {
            "UserPoolId": self.pool_id,
            "Username": email or phone,
            "UserAttributes": attributes,
            "DesiredDeliveryMediums": ["EMAIL"] if email else ["SMS"],
        }
        if not send_invitation:
            request["MessageAction"] = "SUPPRESS"
        try:
            user = _client().admin_create_user(**request)["User"]
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "UsernameExistsException":
                raise DirectoryError("user_exists", f"{email or phone} already has a sign-in") from exc
            if code in ("InvalidParameterException", "InvalidPasswordException"):
                raise DirectoryError("invalid_request", exc.response["Error"].get("Message", code), 422) from exc
            raise
        sub = next(a["Value"] for a in user.get("Attributes", []) if a["Name"] == "sub")
        return Invited(user_id=sub, username=user["Username"])

    def disable(self, username: str) -> None:
        """Block sign-in and revoke every refresh token (ID tokens still live until they expire,
        which is why the API checks the user record on every request)."""
        self._ignore_missing(_client().admin_disable_user, UserPoolId=self.pool_id, Username=username)
        self._ignore_missing(_client().admin_user_global_sign_out, UserPoolId=self.pool_id, Username=username)

    def enable(self, username: str) -> None:
        self._ignore_missing(_client().admin_enable_user, UserPoolId=self.pool_id, Username=username)

    def totp_enabled(self, username: str) -> bool:
        """Whether TOTP is an enabled MFA method of the person: with the pool's MFA optional,
        Cognito then asks for the code at every sign-in."""
        try:
            user = _client().admin_get_user(UserPoolId=self.pool_id, Username=username)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "UserNotFoundException":
                return False
            raise
        return "SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])

    @staticmethod
    def _ignore_missing(call: Any, **request: Any) -> None:
        try:
            call(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UserNotFoundException":
                raise
