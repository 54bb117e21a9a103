"""The offer timers' infrastructure (docs/routing.md#offers): a schedule group, a scheduler role
that may invoke the followup function and nothing else, a dead-letter queue, and the events
function allowed to create schedules in that group and pass that role, nothing more."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.infra


def _one(synthesized, resource_type):
    [(logical_id, resource)] = synthesized.resources(resource_type).items()
    return logical_id, resource


def _role_of(synthesized, handler):
    [function] = [f for f in synthesized.resources("AWS::Lambda::Function").values()
                  if f["Properties"]["Handler"] == handler]  # fmt: skip
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def _statements_of(synthesized, role_id):
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _scheduler_role(synthesized):
    roles = {
        logical_id: role
        for logical_id, role in synthesized.resources("AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "scheduler.amazonaws.com"
    }
    [(role_id, role)] = roles.items()
    return role_id, role


def test_the_scheduler_role_may_invoke_only_the_followup_function_and_send_to_its_dlq(synthesized):
    role_id, role = _scheduler_role(synthesized)
    # Assumed by EventBridge Scheduler for this account only
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = _statements_of(synthesized, role_id)
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["lambda:InvokeFunction", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
    followup_id = _role_of(synthesized, "followup_handler.handler")
    invoke = next(s for s in statements if s["Action"] == "lambda:InvokeFunction")
    [followup_fn] = [k for k, f in synthesized.resources("AWS::Lambda::Function").items()
                     if f["Properties"]["Role"]["Fn::GetAtt"][0] == followup_id]  # fmt: skip
    assert invoke["Resource"] == {"Fn::GetAtt": [followup_fn, "Arn"]}  # the function only: no version wildcard
    dlq_id, _ = _one_dlq(synthesized)
    send = next(s for s in statements if "sqs:SendMessage" in s["Action"])
    assert send["Resource"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


def _one_dlq(synthesized):
    """The stack's rule-target DLQ (the offer schedules dead-letter there too: one queue, one alarm)."""
    queues = {k: q for k, q in synthesized.resources("AWS::SQS::Queue").items() if k.startswith("RuleTargetDlq")}
    [(dlq_id, dlq)] = queues.items()
    return dlq_id, dlq


def test_the_events_function_may_create_schedules_in_the_offer_group_and_pass_only_the_scheduler_role(synthesized):
    events_role = _role_of(synthesized, "events_handler.handler")
    statements = _statements_of(synthesized, events_role)
    create = [s for s in statements if s["Action"] == "scheduler:CreateSchedule"]
    assert len(create) == 1
    resource = create[0]["Resource"]["Fn::Join"][1]
    _, group = _one(synthesized, "AWS::Scheduler::ScheduleGroup")
    assert resource[-1] == f":schedule/{group['Properties']['Name']}/*" and ":scheduler:" in resource[2]
    role_id, _ = _scheduler_role(synthesized)
    [pass_role] = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    # And no other function may touch schedules
    for handler in (
        "ingest_handler.handler",
        "route_handler.handler",
        "followup_handler.handler",
        "api_handler.handler",
    ):
        others = _statements_of(synthesized, _role_of(synthesized, handler))
        assert not [s for s in others if "scheduler:" in str(s["Action"]) or s["Action"] == "iam:PassRole"], handler
