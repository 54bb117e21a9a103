"""Shared test helpers: events shaped as API Gateway and DynamoDB Streams deliver them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 in Kolkata, a Monday

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@dataclass
class LambdaContext:
    function_name: str = "test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:ap-south-1:123456789012:function:test"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "req"
    log_group_name: str = "/aws/lambda/test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event."""
    if isinstance(body, dict):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
    headers = headers or {}
    event: dict[str, Any] = {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 0,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    return event


def hook_event(source_id: str, body: Any = None, *, key: str | None = None, form: bool = False,
               method: str = "POST", headers: dict[str, str] | None = None,
               query: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """A webhook request to `/hooks/{source_id}`."""
    headers = dict(headers or {})
    if key is not None:
        headers["X-Api-Key"] = key
    if form and isinstance(body, dict):
        body = urlencode(body)
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return api_event(method, f"/hooks/{source_id}", resource="/hooks/{source_id}",
                     path_parameters={"source_id": source_id}, body=body, headers=headers, query=query)  # fmt: skip


def claims(
    role: str, username: str = "someone", agent_id: str | None = None, team_id: str | None = None
) -> dict[str, str]:
    """ID-token claims of a signed-in person, whose LeadRelay user record (role, agent, team; MFA
    enrolled) is written to the org table when one is configured (the API trusts only that record)."""
    sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"leadrelay-test:{role}:{username}:{agent_id}:{team_id}"))
    ensure_user(sub, role, username, agent_id, team_id)
    values = {
        "sub": sub,
        "cognito:username": username,
        "cognito:groups": role,
        "token_use": "id",
    }
    if agent_id:
        values["custom:agent_id"] = agent_id
    if team_id:
        values["custom:team_id"] = team_id
    return values


def ensure_user(
    sub: str,
    role: str,
    username: str,
    agent_id: str | None = None,
    team_id: str | None = None,
    *,
    status: str = "active",
    mfa_enrolled: bool = True,
) -> None:
    """An active LeadRelay user record for `sub` (tests run against moto with ORG_TABLE set)."""
    import os

    if not os.environ.get("ORG_TABLE"):
        return
    import time

    from leadrelay import wiring
    from leadrelay.models.user import User
    from leadrelay.store import users

    # The same person again within the cache time: the record is there (a test counting the
    # API's DynamoDB calls must not count this helper's writes).
    cached = users._cache.get(sub)
    if (
        cached is not None
        and cached[1] is not None
        and time.monotonic() - cached[0] < wiring.user_store().cache_seconds
        and (cached[1].role, cached[1].agent_id, cached[1].team_id, cached[1].status.value)
        == (role, agent_id, team_id, status)
    ):
        return
    user = User(user_id=sub, username=username, role=role, agent_id=agent_id, team_id=team_id, status=status,
                mfa_enrolled=mfa_enrolled, mfa_checked_at=datetime(2100, 1, 1, tzinfo=UTC))  # fmt: skip
    wiring.user_store().put(user)
    users._cache[sub] = (time.monotonic(), user)  # as the API would have it after reading it


def stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Shape raw stream records (from GetRecords) into the Lambda DynamoDB event."""
    shaped = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        shaped.append({
            "eventID": record.get("eventID", str(uuid.uuid4())),
            "eventName": record["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "ap-south-1",
            "dynamodb": dynamodb,
            "eventSourceARN": stream_arn,
        })  # fmt: skip
    return {"Records": shaped}
