"""The local gateway hands the handlers the events API Gateway would, and guards the API like the
Cognito authorizer (real signatures, checked against moto's keys)."""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any

import jwt
import pytest
import requests

from leadrelay.clock import OffsetClock
from leadrelay.local.aws import client
from leadrelay.local.cognito import LocalUsers, TokenVerifier, create_user_pool
from leadrelay.local.gateway import Gateway
from leadrelay.local.seed import SeedUser
from tests.integration.local_fixtures import RecordingHandler, moto_server  # noqa: F401


class Functions:
    """Fake functions behind the gateway; each test may set what one of them answers."""

    def __init__(self) -> None:
        self.handlers: dict[str, RecordingHandler] = {}
        self.reset()

    def reset(self) -> None:
        self.handlers = {"ingest": RecordingHandler(), "api": RecordingHandler()}

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.handlers[function](event, None)

    def last(self, function: str) -> dict[str, Any]:
        return self.handlers[function].events[-1]


@pytest.fixture(scope="module")
def setup(moto_server):  # noqa: F811
    cognito = client("cognito-idp", moto_server.endpoint)
    pool = create_user_pool(cognito)
    users = LocalUsers(cognito, pool)
    users.create([SeedUser("admin", "admin"), SeedUser("arjun", "agent", agent_id="agent-arjun", team_id="t1")])
    # A second group for one user: the authorizer passes groups comma-joined.
    cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username="admin", GroupName="manager")
    users.refresh()
    other_pool = create_user_pool(cognito)
    other_users = LocalUsers(cognito, other_pool)
    other_users.create([SeedUser("stranger", "admin")])
    functions = Functions()
    clock = OffsetClock()
    gateway = Gateway(invoke=functions.invoke, verifier=TokenVerifier(moto_server.endpoint, pool), clock=clock)
    gateway.start()
    yield {
        "url": gateway.url,
        "functions": functions,
        "users": users,
        "pool": pool,
        "foreign": other_users.token("stranger"),
        "clock": clock,
    }
    gateway.stop()


@pytest.fixture
def gw(setup):
    setup["functions"].reset()
    return setup


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _moto_signed(pool: Any, **overrides: Any) -> str:
    """A token signed with moto's own key (as a real one would be), with chosen claims."""
    from moto.utilities.utils import load_resource

    key = jwt.PyJWK.from_dict(load_resource("cognitoidp/resources/jwks-private.json"), algorithm="RS256")
    now = int(time.time())
    claims = {
        "iss": pool.issuer,
        "aud": pool.client_id,
        "token_use": "id",
        "sub": "someone",
        "cognito:username": "someone",
        "iat": now - 7200,
        "exp": now - 3600,
        **overrides,
    }
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": "dummy"})


def test_a_webhook_becomes_a_rest_proxy_event_without_authorizer(gw):
    # When a provider posts JSON with a key in the query string and a repeated parameter
    response = requests.post(
        f"{gw['url']}/hooks/website?key=k1&tag=a&tag=b&empty=",
        json={"name": "Asha"},
        headers={"X-Api-Key": "secret", "User-Agent": "meta-webhooks/1.0"},
        timeout=5,
    )
    assert response.status_code == 200
    event = gw["functions"].last("ingest")
    # Then the ingest handler sees what API Gateway would send it
    assert event["resource"] == "/hooks/{source_id}"
    assert event["path"] == "/hooks/website"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"source_id": "website"}
    assert event["queryStringParameters"] == {"key": "k1", "tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"key": ["k1"], "tag": ["a", "b"], "empty": [""]}
    assert event["headers"]["X-Api-Key"] == "secret"
    assert event["multiValueHeaders"]["X-Api-Key"] == ["secret"]
    assert event["stageVariables"] is None
    assert json.loads(event["body"]) == {"name": "Asha"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/hooks/{source_id}"
    assert context["httpMethod"] == "POST"
    assert context["stage"] == "local"
    # The local URL has no stage prefix (like a custom domain), so the context's path has none either
    assert context["path"] == "/hooks/website"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "meta-webhooks/1.0"
    assert abs(context["requestTimeEpoch"] - gw["clock"].now().timestamp() * 1000) < 5000
    assert len(context["requestId"]) == 36
    assert "authorizer" not in context


def test_a_request_without_query_or_body_has_nulls_where_api_gateway_puts_them(gw):
    requests.get(f"{gw['url']}/hooks/justdial", timeout=5)
    event = gw["functions"].last("ingest")
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_a_binary_body_arrives_base64_encoded(gw):
    payload = b"\xff\xd8\xff\xe0 not utf-8 \x80"
    requests.post(f"{gw['url']}/hooks/website", data=payload, timeout=5)
    event = gw["functions"].last("ingest")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_the_api_gets_the_authorizers_claims_as_strings_with_groups_comma_joined(gw):
    token = gw["users"].token("admin")
    response = requests.get(f"{gw['url']}/leads/L1/timeline?cursor=abc", headers=_bearer(token), timeout=5)
    assert response.status_code == 200
    event = gw["functions"].last("api")
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/leads/L1/timeline"
    assert event["pathParameters"] == {"proxy": "leads/L1/timeline"}
    claims = event["requestContext"]["authorizer"]["claims"]
    assert set(claims["cognito:groups"].split(",")) == {"admin", "manager"}
    assert claims["cognito:username"] == "admin"
    assert claims["token_use"] == "id"
    assert all(isinstance(value, str) for value in claims.values())


def test_tokens_carry_the_sub_and_no_custom_identity_attributes(gw):
    # Who a person is lives in LeadRelay's user records (keyed by `sub`), not in the pool
    requests.get(f"{gw['url']}/leads", headers=_bearer(gw["users"].token("arjun")), timeout=5)
    claims = gw["functions"].last("api")["requestContext"]["authorizer"]["claims"]
    assert claims["sub"] and not [name for name in claims if name.startswith("custom:")]
    assert claims["cognito:groups"] == "agent"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
    ],
    ids=["missing", "garbage", "wrong-scheme"],
)
def test_the_api_refuses_requests_without_a_valid_token(gw, headers):
    response = requests.get(f"{gw['url']}/leads", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "unauthorized"
    assert body["message"]
    assert gw["functions"].handlers["api"].events == []


def test_an_expired_token_is_refused(gw):
    response = requests.get(f"{gw['url']}/leads", headers=_bearer(_moto_signed(gw["pool"])), timeout=5)
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_a_token_from_another_pool_is_refused(gw):
    response = requests.get(f"{gw['url']}/leads", headers=_bearer(gw["foreign"]), timeout=5)
    assert response.status_code == 401


def test_a_token_signed_by_someone_else_is_refused(gw):
    from cryptography.hazmat.primitives.asymmetric import rsa

    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    valid = jwt.decode(gw["users"].token("admin"), options={"verify_signature": False})
    forged = jwt.encode(valid, forged_key, algorithm="RS256", headers={"kid": "dummy"})
    response = requests.get(f"{gw['url']}/leads", headers=_bearer(forged), timeout=5)
    assert response.status_code == 401


def test_an_access_token_is_not_an_id_token(gw):
    now = int(time.time())
    token = _moto_signed(gw["pool"], token_use="access", iat=now, exp=now + 600)
    response = requests.get(f"{gw['url']}/leads", headers=_bearer(token), timeout=5)
    assert response.status_code == 401


def test_the_handlers_proxy_response_is_written_back(gw):
    gw["functions"].handlers["api"] = RecordingHandler(
        respond=lambda event: {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png", "X-Lead-Id": "L9"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    response = requests.get(f"{gw['url']}/docs", headers=_bearer(gw["users"].token("admin")), timeout=5)
    assert response.status_code == 201
    assert response.content == b"\x89PNG"
    assert response.headers["X-Lead-Id"] == "L9"
    assert response.headers["Content-Type"] == "image/png"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_a_crashing_handler_is_a_502_with_a_json_error(gw):
    def crash(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    gw["functions"].handlers["ingest"] = RecordingHandler(respond=crash)
    response = requests.post(f"{gw['url']}/hooks/website", json={}, timeout=5)
    assert response.status_code == 502
    assert response.json()["error"] == "internal_error"


def test_unknown_methods_on_a_route_still_reach_the_handler(gw):
    requests.delete(f"{gw['url']}/hooks/website", timeout=5)
    assert gw["functions"].last("ingest")["httpMethod"] == "DELETE"


def test_a_body_over_10_mb_is_refused_with_413_before_it_is_read(gw):
    port = int(gw["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            b"POST /hooks/website HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10485761\r\n\r\n"
        )
        received = b""
        while chunk := connection.recv(65536):  # the gateway closes the connection after a 413
            received += chunk
        reply = received.decode()
    status_line, _, rest = reply.partition("\r\n")
    assert " 413 " in status_line
    assert json.loads(rest.split("\r\n\r\n", 1)[1])["error"] == "payload_too_large"
    assert gw["functions"].handlers["ingest"].events == []
