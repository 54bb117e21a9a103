"""The followup function's alarm: a stuck lead (the router never decided it) pages someone."""

from __future__ import annotations


def test_a_stuck_lead_re_driven_by_the_tick_raises_an_alarm(synthesized):
    alarms = [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]
    stuck = [a for a in alarms if a.get("MetricName") == "StuckLeadsFound"]
    assert len(stuck) == 1
    alarm = stuck[0]
    assert alarm["Namespace"] == "LeadRelay" and alarm["Threshold"] == 1
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "followup"}]
    assert alarm["AlarmActions"]
