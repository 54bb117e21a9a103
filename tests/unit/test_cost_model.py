"""The cost model reads the template and the code as they are, and prices what is beyond the free tier."""

from __future__ import annotations

import pytest

from bench import cost

METRICS = {"count": 0, "metrics": [], "names_built_from_values": []}
PER_LEAD = {"write_units": 22.0, "read_units": 2.0, "handler_cpu_ms": {"ingest": 5.0, "route": 8.0},
            "aws_calls": {"ingest": 2.0, "route": 2.0}, "events": 0.0, "log_bytes": 1500}  # fmt: skip


def template(*resources: tuple[str, dict]) -> dict:
    return {"Resources": {f"R{i}": {"Type": kind, "Properties": props} for i, (kind, props) in enumerate(resources)}}


def test_fixed_costs_are_read_from_the_template():
    facts = cost.facts_from_template(
        template(
            ("AWS::KMS::Key", {}),
            ("AWS::CloudWatch::Dashboard", {"DashboardBody": "{}"}),
            ("AWS::CloudWatch::Alarm", {"MetricName": "Errors"}),
            ("AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(1 minute)"}),
            ("AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(2 hours)"}),
            (
                "AWS::Lambda::Function",
                {"MemorySize": 1024, "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": "route"}}},
            ),
        ),
        "dev",
    )
    assert (facts.kms_keys, facts.dashboards, facts.alarm_metrics) == (1, 1, 1)
    assert facts.schedule_invocations_per_month == 43_200 + 360
    assert facts.functions == {"route": 1024}


def test_a_metric_named_from_a_value_is_flagged_and_literal_names_are_counted_once_per_service(tmp_path):
    handler = tmp_path / "functions" / "ingest" / "ingest_handler.py"
    handler.parent.mkdir(parents=True)
    handler.write_text(
        'metrics = Metrics(namespace="LeadRelay", service="ingest")\n'
        'metrics.add_metric(name="WebhooksAccepted", unit="Count", value=1)\n'
        'metrics.add_metric(name="WebhooksAccepted", unit="Count", value=1)\n'
        'metrics.add_metric(name=f"Webhook_{outcome}", unit="Count", value=1)\n'
    )
    found = cost.custom_metrics((tmp_path / "functions",))
    assert found["metrics"] == ["ingest/WebhooksAccepted"]
    assert len(found["names_built_from_values"]) == 1 and found["names_built_from_values"][0].endswith(":4")


def test_cloudwatch_is_free_within_its_allowance_and_priced_beyond_it():
    facts = cost.TemplateFacts(stage="dev", kms_keys=1, dashboards=1, alarm_metrics=12)
    metrics = {"count": 12, "metrics": [], "names_built_from_values": []}
    free = cost.monthly(10, 3000, facts, PER_LEAD, metrics)["lines_usd"]
    assert free["CloudWatch dashboards"] == 0 and free["CloudWatch custom metrics"] == 0.6
    assert free["CloudWatch alarms"] == 0.2 and free["KMS (customer-managed key)"] > 1.0
    paid = cost.monthly(10, 3000, facts, PER_LEAD, metrics, free_tier=False)["lines_usd"]
    assert paid["CloudWatch dashboards"] == 3.0 and paid["CloudWatch custom metrics"] == 3.6


def test_more_memory_costs_only_the_waiting_not_the_cpu():
    # CPU-bound milliseconds shrink as memory grows, so only the time waiting on AWS costs more
    at_256 = cost.billed_ms(9.0, 2.0, 256) * 256
    at_1024 = cost.billed_ms(9.0, 2.0, 1024) * 1024
    cpu_only = cost.billed_ms(9.0, 0.0, 256) * 256
    assert cost.billed_ms(9.0, 0.0, 1024) * 1024 == cpu_only
    assert at_1024 - at_256 == 2 * cost.AWS_WAIT_MS_PER_CALL * (1024 - 256)


def test_names_from_a_table_of_literal_names_count_as_those_names(tmp_path):
    handler = tmp_path / "functions" / "followup" / "followup_handler.py"
    handler.parent.mkdir(parents=True)
    handler.write_text(
        'metrics = Metrics(namespace="LeadRelay", service="followup")\n'
        '_TICK = {"due": "FollowupsDue", "missed": "FollowupsMissed"}\n'
        "for key, metric in _TICK.items():\n"
        "    metrics.add_metric(name=metric, unit='Count', value=1)\n"
    )
    found = cost.custom_metrics((tmp_path / "functions",))
    assert found["metrics"] == ["followup/FollowupsDue", "followup/FollowupsMissed"]
    assert found["names_built_from_values"] == []


def test_a_metric_math_alarm_is_billed_for_the_metrics_it_reads_not_its_expression():
    # Given an alarm on "dlq0 + dlq1" (two metrics and the expression entry)
    math = {"Metrics": [
        {"Id": "expr", "Expression": "dlq0 + dlq1", "ReturnData": True},
        {"Id": "dlq0", "MetricStat": {"Metric": {"MetricName": "ApproximateNumberOfMessagesVisible"}}},
        {"Id": "dlq1", "MetricStat": {"Metric": {"MetricName": "ApproximateNumberOfMessagesVisible"}}},
    ]}  # fmt: skip
    # When the template's facts are read
    facts = cost.facts_from_template(template(("AWS::CloudWatch::Alarm", math)), "dev")
    # Then it counts as two alarm metrics, as CloudWatch bills it
    assert facts.alarm_metrics == 2


def test_the_stream_events_function_is_priced_by_what_it_measured_not_as_one_event_a_call():
    # Given a bench report where the events function made 2 PutEvents and 9.5 DynamoDB calls a lead
    # (the dashboard's counters), wrote 11.5 units and read 4.7, at 20 ms of CPU a lead
    report = {"at": "now", "reference": {
        "capacity_units_per_lead": {"write": {"ingest": 18.0, "route": 16.0, "events": 11.5},
                                    "read": {"ingest": 0.0, "route": 0.0, "events": 4.7}},
        "aws_calls_per_lead": {"ingest": 1.0, "route": 1.0, "events_forwarder": 11.5,
                               "events_function_by_service": {"dynamodb": 9.5, "events": 2.0}},
        "handler_cpu_ms_per_lead": {"ingest": 3.0, "route": 3.0},
        "events_function_cpu_ms_per_lead": 20.0,
    }}  # fmt: skip
    per_lead, _ = cost.per_lead_from_report(report)
    # Then its units are in the DynamoDB sums, and only its PutEvents are EventBridge events
    assert (per_lead["write_units"], per_lead["read_units"]) == (45.5, 4.7)
    assert per_lead["events"] == 2.0
    assert per_lead["events_function"] == {"cpu_ms": 20.0, "calls": 11.5}
    # And its CPU and calls move the Lambda line
    facts = cost.TemplateFacts(stage="dev")
    light = cost.monthly(10, 3000, facts, {**per_lead, "events_function": {"cpu_ms": 2.0, "calls": 1.0}}, METRICS)
    heavy = cost.monthly(10, 3000, facts, per_lead, METRICS)
    extra_gb_s = 3000 * (cost.billed_ms(20.0, 11.5, 256) - cost.billed_ms(2.0, 1.0, 256)) / 1000 * 0.25
    lambda_line = "Lambda (duration + requests)"
    assert heavy["lines_usd"][lambda_line] - light["lines_usd"][lambda_line] == pytest.approx(
        extra_gb_s * cost.PRICES["lambda_gb_second"][0], abs=1e-4
    )  # (the lines are rounded to 4 decimals)
