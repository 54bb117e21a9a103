"""Sending provider webhooks to the real ingest handler on moto, the way each provider sends them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from tests.helpers import LambdaContext, hook_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def fixture(name: str) -> dict[str, Any]:
    """A provider's sample payload (docs reference), as a dict to vary."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def send(source_id: str, body: Any = None, *, key: str | None, method: str = "POST",
         headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
         form: bool = False) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    """One webhook through the ingest handler: (status, headers, JSON body or text)."""
    import ingest_handler

    headers = dict(headers or {})
    if isinstance(body, dict | list) and not form:
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    event = hook_event(source_id, body, key=key, method=method, headers=headers, query=query, form=form)
    response = ingest_handler.handler(event, LambdaContext())
    answer_headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        answer_headers.setdefault(name.lower(), ",".join(values))
    text = response["body"]
    payload = json.loads(text) if answer_headers.get("content-type", "").startswith("application/json") else text
    return response["statusCode"], answer_headers, payload


def table_items(table: str, prefix: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith(prefix)]
