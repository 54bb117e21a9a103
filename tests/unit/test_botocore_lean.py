"""The DynamoDB client's lean botocore session (store/botocore_lean.py): the same requests as a
stock session's client, without listing every service or parsing the 1.2 MB endpoints file."""

from __future__ import annotations

import json
import os
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from leadrelay.store import botocore_lean
from leadrelay.store.dynamo import client as process_client


class _Sent(Exception):
    """Raised from before-send: the request was built, nothing goes on the wire."""

    def __init__(self, request: Any) -> None:
        super().__init__(request.url)
        self.url, self.headers = request.url, dict(request.headers)


def _scope(sent: _Sent) -> str:
    """The SigV4 credential scope's region/service/aws4_request."""
    authorization = sent.headers["Authorization"]
    text = authorization.decode() if isinstance(authorization, bytes) else authorization
    return text.split("Credential=")[1].split(",")[0].split("/", 2)[2]


def _request(session: botocore.session.Session, region: str, **kwargs: Any) -> _Sent:
    dynamodb = session.create_client(
        "dynamodb", region_name=region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        **{"config": Config(retries={"max_attempts": 1}), **kwargs},
    )  # fmt: skip

    def stop(request: Any, **_: Any) -> None:
        raise _Sent(request)

    dynamodb.meta.events.register("before-send.dynamodb.*", stop)
    with pytest.raises(_Sent) as sent:
        dynamodb.get_item(TableName="leads", Key={"pk": {"S": "LEAD#1"}, "sk": {"S": "LEAD"}})
    return sent.value


def test_the_shipped_endpoints_file_is_the_installed_botocore_s_trimmed() -> None:
    # Given the installed botocore's endpoints.json
    # When it is trimmed to the partitions and DynamoDB
    # Then it is what ships (regenerate with `python -m leadrelay.store.botocore_lean` after a botocore upgrade)
    shipped = json.loads(botocore_lean.LEAN_ENDPOINTS.read_text())
    assert shipped == botocore_lean.trimmed_endpoints(botocore_lean.installed_endpoints())
    assert list(shipped["partitions"][0]["services"]) == ["dynamodb"]
    assert botocore_lean.LEAN_ENDPOINTS.stat().st_size < 20_000


@pytest.mark.parametrize(
    ("region", "kwargs"),
    [
        ("ap-south-1", {}),
        ("us-east-1", {}),
        ("eu-central-1", {}),
        ("cn-north-1", {}),
        ("us-gov-west-1", {}),
        ("ap-south-1", {"config": Config(use_fips_endpoint=True, retries={"max_attempts": 1})}),
        ("ap-south-1", {"config": Config(use_dualstack_endpoint=True, retries={"max_attempts": 1})}),
        ("ap-south-1", {"endpoint_url": "http://127.0.0.1:5000"}),
    ],
)
def test_a_lean_client_sends_what_a_stock_client_sends(region: str, kwargs: dict[str, Any]) -> None:
    # Given a stock botocore session and the lean one
    # When each builds a DynamoDB GetItem for the same region and options
    stock = _request(botocore.session.get_session(), region, **kwargs)
    lean = _request(botocore_lean.session(), region, **kwargs)
    # Then both go to the same URL, signed for the same region and service
    assert lean.url == stock.url
    assert _scope(lean) == _scope(stock)


def test_the_lean_session_does_not_list_botocore_s_data_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a count of folder listings
    listed: list[str] = []
    real = os.listdir

    def counting(path: Any = ".") -> list[str]:
        listed.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", counting)
    # When a lean session builds a DynamoDB client
    botocore_lean.session().create_client("dynamodb", region_name="ap-south-1")
    # Then only DynamoDB's own folder is listed, for its API versions (a stock session lists the
    # data folder and each of its ~400 service folders, twice)
    assert listed and all(os.path.basename(path) == "dynamodb" for path in listed)


def test_the_process_client_is_built_by_the_lean_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    process_client.cache_clear()
    try:
        assert isinstance(process_client()._loader, botocore_lean.LeanLoader)
    finally:
        process_client.cache_clear()
