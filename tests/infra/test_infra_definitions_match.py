"""The synthesized template agrees with `leadrelay.definitions`, the layout the local stack uses.

Given the dev stack synthesized from infra/
When each table, index, stream setting, filter and schedule in definitions is looked up
Then the CloudFormation says exactly the same thing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from leadrelay import definitions
from leadrelay_infra import constants as c

pytestmark = pytest.mark.infra

TABLE_OUTPUTS = {
    definitions.LEADS_TABLE.logical_name: c.OUTPUT_LEADS_TABLE,
    definitions.ORG_TABLE.logical_name: c.OUTPUT_ORG_TABLE,
}


def _table(synthesized, table_def):
    """The AWS::DynamoDB::Table behind the stack output for this definition (no hashed ids)."""
    logical_id = synthesized.raw["Outputs"][TABLE_OUTPUTS[table_def.logical_name]]["Value"]["Ref"]
    resource = synthesized.raw["Resources"][logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table"  # Table, not TableV2 (GlobalTable)
    return logical_id, resource["Properties"]


def _function_logical_id(synthesized, handler: str) -> str:
    matches = [
        logical_id
        for logical_id, resource in synthesized.resources("AWS::Lambda::Function").items()
        if resource["Properties"]["Handler"] == handler
    ]
    assert len(matches) == 1, handler
    return matches[0]


def test_every_defined_table_is_in_the_stack(synthesized):
    assert set(TABLE_OUTPUTS) == {t.logical_name for t in definitions.TABLES}
    assert len(synthesized.resources("AWS::DynamoDB::Table")) == len(definitions.TABLES)


@pytest.mark.parametrize("table_def", definitions.TABLES, ids=lambda t: t.logical_name)
def test_table_layout_matches_the_definition(synthesized, table_def):
    # Given the boto3 create_table arguments the local stack and moto tests use
    expected = table_def.create_table_kwargs("ignored")
    # When the synthesized table is read
    _, props = _table(synthesized, table_def)
    # Then keys, attributes, indexes, billing and stream agree
    assert props["KeySchema"] == expected["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        expected["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    synthesized_indexes = {gsi["IndexName"]: gsi for gsi in props.get("GlobalSecondaryIndexes", [])}
    expected_indexes = {gsi["IndexName"]: gsi for gsi in expected.get("GlobalSecondaryIndexes", [])}
    assert synthesized_indexes.keys() == {index.name for index in table_def.indexes}
    for name, gsi in expected_indexes.items():
        assert synthesized_indexes[name]["KeySchema"] == gsi["KeySchema"]
        assert synthesized_indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    if table_def.stream:
        assert props["StreamSpecification"] == {"StreamViewType": table_def.stream}
    else:
        assert "StreamSpecification" not in props
    if table_def.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": table_def.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


@pytest.mark.parametrize("table_def", definitions.TABLES, ids=lambda t: t.logical_name)
def test_tables_are_on_demand_with_pitr_and_kms_encryption(synthesized, table_def):
    _, props = _table(synthesized, table_def)
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    # (SSEEnabled alone: KMS with DynamoDB's AWS-managed key, as in the dev stage; the
    # customer-managed key is a production option: tests/infra/test_infra_cost.py)


STREAM_MAPPINGS = {
    "route_handler.handler": definitions.ROUTE_STREAM,
    "events_handler.handler": definitions.EVENTS_STREAM,
}


def test_the_leads_stream_has_exactly_the_defined_readers(synthesized):
    # DynamoDB serves two readers per shard without throttling: the router and the events function.
    mappings = synthesized.resources("AWS::Lambda::EventSourceMapping").values()
    functions = {m["Properties"]["FunctionName"]["Ref"] for m in mappings}
    assert functions == {_function_logical_id(synthesized, handler) for handler in STREAM_MAPPINGS}
    assert len(functions) == len(mappings) == 2


@pytest.mark.parametrize("handler", sorted(STREAM_MAPPINGS))
def test_stream_mapping_matches_the_definition(synthesized, handler):
    stream = STREAM_MAPPINGS[handler]
    leads_id, _ = _table(synthesized, definitions.LEADS_TABLE)
    function_id = _function_logical_id(synthesized, handler)
    (props,) = [
        m["Properties"]
        for m in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]

    assert props["EventSourceArn"] == {"Fn::GetAtt": [leads_id, "StreamArn"]}
    assert props["BatchSize"] == stream.batch_size
    assert props["MaximumBatchingWindowInSeconds"] == stream.max_batching_window_seconds == 0
    assert props["BisectBatchOnFunctionError"] is stream.bisect_batch_on_error is True
    assert props["MaximumRetryAttempts"] == stream.retry_attempts
    assert props["MaximumRecordAgeInSeconds"] == stream.max_record_age_seconds
    # Where the local poller starts: the router and consumers are idempotent, so re-reading the
    # stream's 24 hours when a mapping is replaced loses nothing.
    assert props["StartingPosition"] == stream.starting_position == "TRIM_HORIZON"
    assert stream.report_batch_item_failures
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_id = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert synthesized.raw["Resources"][queue_id]["Type"] == "AWS::SQS::Queue"
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [json.loads(json.dumps(p)) for p in stream.filter_patterns]


def test_both_stream_readers_park_failed_records_in_the_one_stream_dlq(synthesized):
    # One queue (one alarm metric); its messages name the function whose records gave up.
    queues = [
        m["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for m in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
    ]
    assert len(queues) == 2 and len(set(queues)) == 1


def test_the_deployed_api_takes_as_binary_the_media_types_the_local_gateway_base64_encodes(synthesized):
    from leadrelay.local.gateway import is_binary_media_type

    (api,) = synthesized.resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["BinaryMediaTypes"] == list(definitions.BINARY_MEDIA_TYPES)
    for media_type in definitions.BINARY_MEDIA_TYPES:
        assert is_binary_media_type({"Content-Type": [f"{media_type}; charset=windows-1252"]})
    assert not is_binary_media_type({"content-type": ["application/json"]})


def _rate_expression(minutes: int) -> str:
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


def _task_in(rule: dict) -> str | None:
    """The `detail.task` a rule's target sends (its input template is the envelope with the detail)."""
    transformer = rule["Targets"][0].get("InputTransformer") or {}
    found = re.search(r'"detail":\{"task":"([^"]+)"', transformer.get("InputTemplate", ""))
    return found.group(1) if found else None


@pytest.mark.parametrize("schedule", definitions.SCHEDULES, ids=lambda s: s.name)
def test_schedule_ticks_the_followup_function_with_the_envelope_and_its_task(synthesized, schedule):
    followup_id = _function_logical_id(synthesized, "followup_handler.handler")
    rules = [
        rule["Properties"]
        for rule in synthesized.resources("AWS::Events::Rule").values()
        if rule["Properties"].get("ScheduleExpression") == _rate_expression(schedule.rate_minutes)
        and _task_in(rule["Properties"]) == schedule.task
    ]
    assert len(rules) == 1
    (target,) = rules[0]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [followup_id, "Arn"]}
    # The "Scheduled Event" envelope (its id and time from the event) with the schedule's detail,
    # as the local ticker sends it: the handler dispatches on detail.task.
    template = target["InputTransformer"]["InputTemplate"]
    assert '"detail-type":"Scheduled Event"' in template and '"source":"aws.events"' in template
    assert target["InputTransformer"]["InputPathsMap"]["time"] == "$.time"
    assert "EventBusName" not in rules[0]  # schedules run on the default bus


def test_schedule_rules_are_named_after_the_definitions(synthesized):
    paths = {
        rule.node.path
        for rule in synthesized.stack.followup.rules.values()  # constructs, not logical ids
    }
    assert {p.rsplit("/", 1)[-1] for p in paths} == {f"Schedule{s.name}" for s in definitions.SCHEDULES}
    assert re.fullmatch(r"rate\(1 minute\)", _rate_expression(1))


def test_functions_get_table_and_bus_names_under_the_defined_env_vars(synthesized):
    outputs = synthesized.raw["Outputs"]
    functions = synthesized.resources("AWS::Lambda::Function").values()
    assert len(functions) == len(definitions.FUNCTION_TIMEOUT_S)
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        for table_def in definitions.TABLES:
            table_id, _ = _table(synthesized, table_def)
            assert variables[table_def.env_var] == {"Ref": table_id}
        assert variables[definitions.EVENT_BUS_ENV] == outputs[c.OUTPUT_EVENT_BUS]["Value"]


def test_audit_rule_keeps_every_domain_event_in_a_log_group(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": [definitions.EVENT_SOURCE]},
            "EventBusName": Match.any_value(),
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}})],
        },
    )
    synthesized.template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": Match.string_like_regexp(r"^/aws/events/leadrelay-dev/")}
    )


@pytest.mark.parametrize("function", sorted(definitions.FUNCTION_TIMEOUT_S))
def test_function_timeouts_match_the_definition_the_local_stack_uses(synthesized, function):
    from leadrelay.local.context import LocalLambdaContext

    logical_id = _function_logical_id(synthesized, f"{function}_handler.handler")
    deployed = synthesized.raw["Resources"][logical_id]["Properties"]["Timeout"]
    assert deployed == definitions.FUNCTION_TIMEOUT_S[function]
    local = LocalLambdaContext(f"leadrelay-local-{function}").get_remaining_time_in_millis()
    assert deployed * 1000 - 1000 < local <= deployed * 1000


def test_the_exports_bucket_and_its_function_match_the_definition(synthesized):
    ((bucket_id, bucket),) = synthesized.resources("AWS::S3::Bucket").items()
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == definitions.EXPORTS.prefix
    assert rule["ExpirationInDays"] == definitions.EXPORTS.retention_days
    assert (
        rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        == definitions.EXPORTS.abort_incomplete_upload_days
    )
    export_id = _function_logical_id(synthesized, "export_handler.handler")
    api = synthesized.raw["Resources"][_function_logical_id(synthesized, "api_handler.handler")]
    variables = api["Properties"]["Environment"]["Variables"]
    assert variables[definitions.EXPORTS.env_var] == {"Ref": bucket_id}
    assert variables[definitions.EXPORTS.function_env_var] == {"Ref": export_id}


def test_the_events_function_gets_the_offer_timer_settings_under_the_defined_env_vars(synthesized):
    # Given the events function (it sets the one-time offer schedules) and the offer schedule group
    events_id = _function_logical_id(synthesized, "events_handler.handler")
    env = synthesized.raw["Resources"][events_id]["Properties"]["Environment"]["Variables"]
    timers = definitions.OFFER_TIMERS
    [(group_id, group)] = synthesized.resources("AWS::Scheduler::ScheduleGroup").items()
    # Then each setting is under the env var the code and the local stack read it from
    assert env[timers.group_env] == group["Properties"]["Name"] and group_id.startswith("OfferTimers")
    assert env[timers.target_env] == {
        "Fn::GetAtt": [_function_logical_id(synthesized, "followup_handler.handler"), "Arn"]
    }
    assert "Fn::GetAtt" in env[timers.role_env] and "Fn::GetAtt" in env[timers.dlq_env]
    assert group["Properties"]["Name"].endswith("-offers")


# Every setting in `leadrelay.definitions`, and where it is checked against the other side. A new
# setting fails the test below until it is classified here: shared with infra (and checked in this
# file), or read by the code and the local stack alike with nothing to deploy.
CHECKED_AGAINST_THE_TEMPLATE = {
    "TABLES": "test_every_defined_table_is_in_the_stack, test_table_layout_matches_the_definition",
    "LEADS_TABLE": "test_table_layout_matches_the_definition",
    "ORG_TABLE": "test_table_layout_matches_the_definition",
    "ROUTE_STREAM": "test_stream_mapping_matches_the_definition",
    "ROUTE_FILTER_PATTERNS": "test_stream_mapping_matches_the_definition",
    "EVENTS_STREAM": "test_stream_mapping_matches_the_definition",
    "EVENT_FILTER_PATTERNS": "test_stream_mapping_matches_the_definition",
    "AGGREGATE_FILTER_PATTERNS": "test_stream_mapping_matches_the_definition",
    "SCHEDULES": "test_schedule_ticks_the_followup_function_with_the_envelope_and_its_task",
    "FUNCTION_TIMEOUT_S": "test_function_timeouts_match_the_definition_the_local_stack_uses",
    "BINARY_MEDIA_TYPES": "test_the_deployed_api_takes_as_binary_the_media_types_the_local_gateway_base64_encodes",
    "EVENT_BUS_ENV": "test_functions_get_table_and_bus_names_under_the_defined_env_vars",
    "EVENT_SOURCE": "test_audit_rule_keeps_every_domain_event_in_a_log_group",
    "DLQ_ENV": "test_both_stream_readers_park_failed_records_in_the_one_stream_dlq",
    "EVENTS_DLQ_ENV": "test_both_stream_readers_park_failed_records_in_the_one_stream_dlq",
    "EXPORTS": "test_the_exports_bucket_and_its_function_match_the_definition",
    "OFFER_TIMERS": "test_the_events_function_gets_the_offer_timer_settings_under_the_defined_env_vars",
}
CODE_ONLY = {
    "EVENT_DETAIL_TYPES": "the events function's naming, the same code on both sides",
    "QUARANTINED_DETAIL_TYPE": "the events function's naming, the same code on both sides",
    "LEAD_WAITING_ALARM_MINUTES": "the LeadsWaiting alarm's evaluation periods (test_infra_stack checks it)",
    "API_IDEMPOTENCY": "items in the org table (its TTL attribute is the table's, checked above); the key prefix "
    "and the 24 h window are the api function's own",
}


def test_every_definition_is_checked_against_the_template_or_declared_code_only():
    names = {name for name in dir(definitions) if name.isupper() and not name.startswith("_")}
    unclassified = names - CHECKED_AGAINST_THE_TEMPLATE.keys() - CODE_ONLY.keys()
    assert not unclassified, (
        f"new definitions {sorted(unclassified)}: add a test here that compares them with the synthesized "
        "template (and list it in CHECKED_AGAINST_THE_TEMPLATE), or list them in CODE_ONLY with why"
    )
    source = Path(__file__).read_text()
    for name, tests in CHECKED_AGAINST_THE_TEMPLATE.items():
        for test in tests.split(", "):
            assert f"def {test}(" in source, f"{name}: {test} is not in this file"


def test_the_local_pollers_run_the_defined_mappings_from_the_defined_position():
    import inspect

    from leadrelay.local import poller, stack

    # The router's poller defaults to ROUTE_STREAM; the stack gives the events poller EVENTS_STREAM.
    assert inspect.signature(poller.StreamPoller).parameters["mapping"].default is definitions.ROUTE_STREAM
    assert "mapping=definitions.EVENTS_STREAM" in inspect.getsource(stack.LocalStack)
    assert "ShardIteratorType=self._mapping.starting_position" in inspect.getsource(poller.StreamPoller)
