"""Per-source first-contact SLA clocks with a warning, through the real tick on moto (the demo
organisation: its `website` source is a generic one)."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay.followup.settings import SlaSettings
from leadrelay.followup.sla import sla_minutes
from tests.integration.flow import Flow
from tests.integration.followup_helpers import routed_lead, tick, timeline_kinds


@pytest.fixture(autouse=True)
def _clock(clock: Any) -> Any:
    return clock


def put_settings(flow: Flow, document: dict[str, Any]) -> None:
    status, body = flow.call("PUT", "/settings/followups", body=document)
    assert status == 200, body


def test_a_source_clock_is_tighter_never_looser_than_the_rule_or_pool_sla() -> None:
    # Given an hour for the org, 90 minutes for one pool, 10 minutes for IndiaMART enquiries
    settings = SlaSettings(first_contact_minutes=60, by_pool={"slow": 90}, by_source_kind={"indiamart": 10},
                           by_source={"portal-99": 120})  # fmt: skip
    # Then an IndiaMART lead has 10 minutes whatever pool it went to
    assert sla_minutes(settings, None, None, "slow", "im-1", "indiamart") == 10
    # and a portal source with a longer clock does not loosen the pool's 90 or the org's hour
    assert sla_minutes(settings, None, None, "slow", "portal-99", "99acres") == 90
    assert sla_minutes(settings, None, None, None, "portal-99", "99acres") == 60
    # and a source with its own clock where nothing else applies gets it
    assert sla_minutes(SlaSettings(by_source_kind={"indiamart": 10}), None, None, None, "im", "indiamart") == 10
    # and other sources keep the rule/pool/org chain
    assert sla_minutes(settings, None, None, None, "website", "generic") == 60
    # and a minute count below one is refused
    with pytest.raises(ValueError):
        SlaSettings(by_source={"x": 0})


def test_a_source_with_a_short_clock_warns_the_owner_then_moves_the_lead(
    flow: Flow, demo: dict[str, Any], clock: Any
) -> None:
    # Given the website source must be called within 15 minutes, with a warning 5 minutes before
    put_settings(flow, {"sla": {"first_contact_minutes": 120, "by_source": {"website": 15},
                                "warning_by_source": {"website": 5}}})  # fmt: skip
    lead = routed_lead(flow, demo, "9876512001")  # the clock is now 5 minutes after assignment
    assert tick()["work"].get("sla_warned", 0) == 0  # the clock starts: due at minute 10
    # When 10 minutes have gone without a call
    clock.advance(minutes=5, seconds=1)
    work = tick()["work"]
    # Then the owner is warned, once
    assert work["sla_warned"] == 1
    assert timeline_kinds(flow, lead["lead_id"])[-1] == "lead.sla_warning"
    assert tick()["work"].get("sla_warned", 0) == 0
    # When the 15 minutes run out (not the org's 120), the lead moves
    clock.advance(minutes=5)
    assert tick()["work"]["sla_redistributed"] == 1
