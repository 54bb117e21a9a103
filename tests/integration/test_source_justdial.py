"""JustDial: GET, JSON and form; do-not-call flags; the configurable acknowledgement body."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.models import Source
from tests.integration.hooks import fixture, send


@pytest.fixture
def key(aws: dict[str, str]) -> str:
    return next(s for s in seed(demo=True).sources if s["kind"] == "justdial")["key"]


def sample(**changes: Any) -> dict[str, str]:
    data = {k: str(v) for k, v in fixture("justdial.json").items()}
    data.update(changes)
    return data


@pytest.mark.parametrize("delivery", ["get", "json", "form"])
def test_each_delivery_style_becomes_a_lead_acknowledged_with_received(key: str, delivery: str) -> None:
    if delivery == "get":
        answer = send("justdial", None, key=None, method="GET", query={"key": key, **sample()})
    else:
        answer = send("justdial", sample(), key=key, form=delivery == "form")
    status, headers, body = answer
    assert (status, body) == (200, "RECEIVED") and headers["content-type"].startswith("text/plain")
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None
    assert (lead.name, lead.phone, lead.email, lead.city) == ("Test Verma", "+919000000004",
                                                              "test.verma@example.com", "Mumbai")  # fmt: skip
    assert (lead.product, lead.pincode, lead.external_id) == ("Generator Dealers", "400086", "JDTEST12345")
    assert lead.extra["area"] == "Ghatkopar West" and lead.extra["prefix"] == "Mr"
    assert "key" not in lead.extra and not lead.do_not_call


@pytest.mark.parametrize(("flags", "dnc"), [({"dncmobile": "1"}, True), ({"dncphone": "1"}, True),
                                            ({"dncmobile": "0", "dncphone": "0"}, False)])  # fmt: skip
def test_do_not_disturb_numbers_are_kept_and_marked_do_not_call(key: str, flags: dict[str, str], dnc: bool) -> None:
    _, headers, _ = send("justdial", sample(**flags), key=key)
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.do_not_call is dnc and ("do_not_call" in lead.tags) is dnc


def test_the_acknowledgement_body_is_configurable_per_account(key: str) -> None:
    org = wiring.org_repository()
    source = org.get_source("justdial")
    assert isinstance(source, Source)
    org.put_source(source.model_copy(update={"settings": {"ack_body": "SUCCESS"}}))
    assert send("justdial", sample(), key=key)[2] == "SUCCESS"


def test_a_retry_is_acknowledged_and_is_a_duplicate(key: str) -> None:
    first = send("justdial", sample(), key=key)
    again = send("justdial", sample(), key=key)
    assert again[0] == 200 and again[1]["x-lead-id"] == first[1]["x-lead-id"]
    raws = wiring.lead_repository().raw_requests(first[1]["x-lead-id"])
    assert [r["outcome"] for r in raws] == ["created", "duplicate"]


def test_a_landline_only_lead_keeps_the_landline(key: str) -> None:
    _, headers, _ = send("justdial", sample(mobile="", phone="080-26612345"), key=key)
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.phone == "+918026612345" and lead.phone_type == "landline"


def test_no_contact_is_a_json_422_kept_in_quarantine(key: str) -> None:
    status, _, body = send("justdial", sample(mobile="", phone="", email=""), key=key)
    assert (status, body["error"]) == (422, "missing_contact") and body["request_id"]
