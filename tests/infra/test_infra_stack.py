"""The dev stack: region, functions, layer, auth, API, least privilege, alarms, cdk-nag.

Assertions match properties and follow references; they never name hashed logical ids.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from leadrelay import definitions
from leadrelay_infra import constants as c

pytestmark = pytest.mark.infra

HANDLERS = {
    "ingest": "ingest_handler.handler",
    "route": "route_handler.handler",
    "followup": "followup_handler.handler",
    "api": "api_handler.handler",
    "events": "events_handler.handler",
}
RESOURCE_STAR_ONLY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:*",
}


def _function(synthesized, name):
    (logical_id, resource), *rest = [
        (k, v)
        for k, v in synthesized.resources("AWS::Lambda::Function").items()
        if v["Properties"]["Handler"] == HANDLERS[name]
    ]
    assert not rest
    return logical_id, resource["Properties"]


def _role_statements(synthesized, role_logical_id):
    """Every statement of every AWS::IAM::Policy attached to the role."""
    statements = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _refers_to(value, logical_id) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        if value.get("Fn::GetAtt", [None])[0] == logical_id:
            return True
        return any(_refers_to(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, logical_id) for v in value)
    return False


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_stack_is_pinned_to_mumbai(synthesized):
    assert synthesized.region == c.REGION == "ap-south-1"
    assert synthesized.stack.stack_name == "LeadRelay-dev"


def test_outputs_for_the_frontend_and_operators(synthesized):
    assert {
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "LeadsTableName",
        "OrgTableName",
        "EventBusName",
    } <= synthesized.raw["Outputs"].keys()


@pytest.mark.parametrize("name", HANDLERS)
def test_function_is_arm64_python313_traced_with_the_shared_layer(synthesized, name):
    (layer_id,) = synthesized.resources("AWS::Lambda::LayerVersion")
    _, props = _function(synthesized, name)
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "python3.13"
    assert props["Layers"] == [{"Ref": layer_id}]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["MemorySize"] == c.FUNCTION_MEMORY_MB_BY_FOLDER[name]
    assert 3 <= props["Timeout"] <= 60
    variables = props["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == name
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "LeadRelay"
    assert variables["LOG_LEVEL"]
    assert variables["STAGE"] == "dev"
    # The X-Ray SDK is off unless `-c xray_sdk=true` (its cold-start cost, leadrelay/tracing.py).
    assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert variables["ORG_TIMEZONE"] == "Asia/Kolkata"
    # Its log group has a retention (no never-expiring logs, no LogRetention custom resource).
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesized.raw["Resources"][log_group_id]["Properties"]["RetentionInDays"] > 0


def test_every_function_has_its_own_role(synthesized):
    roles = [props["Role"]["Fn::GetAtt"][0] for props in (_function(synthesized, n)[1] for n in HANDLERS)]
    assert len(set(roles)) == len(HANDLERS)


def test_layer_is_for_arm64_and_python_312_313(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleArchitectures": ["arm64"], "CompatibleRuntimes": ["python3.12", "python3.13"]},
    )


def test_ingest_can_read_but_never_write_the_org_table(synthesized):
    # Given the ingest function's role and the org table
    _, ingest = _function(synthesized, "ingest")
    role_id = ingest["Role"]["Fn::GetAtt"][0]
    org_id = synthesized.raw["Outputs"][c.OUTPUT_ORG_TABLE]["Value"]["Ref"]
    leads_id = synthesized.raw["Outputs"][c.OUTPUT_LEADS_TABLE]["Value"]["Ref"]
    statements = _role_statements(synthesized, role_id)
    # When the statements that touch each table are collected
    org_actions = {action for s in statements if _refers_to(s["Resource"], org_id) for action in _as_list(s["Action"])}
    leads_actions = {
        action for s in statements if _refers_to(s["Resource"], leads_id) for action in _as_list(s["Action"])
    }
    # Then it reads the org table and writes leads, but cannot write org data
    assert "dynamodb:GetItem" in org_actions
    assert not org_actions & WRITE_ACTIONS
    assert "dynamodb:PutItem" in leads_actions
    # and "*" appears only for actions that have no resource-level permissions.
    for statement in statements:
        if statement["Resource"] == "*":
            assert set(_as_list(statement["Action"])) <= RESOURCE_STAR_ONLY, statement


@pytest.mark.parametrize("name", HANDLERS)
def test_only_the_events_function_may_put_events_and_on_its_bus_only(synthesized, name):
    # Domain events leave through the stream; a request path that could publish after a commit
    # could also lose the event in between.
    _, props = _function(synthesized, name)
    bus_id = synthesized.raw["Outputs"][c.OUTPUT_EVENT_BUS]["Value"]["Ref"]
    statements = _role_statements(synthesized, props["Role"]["Fn::GetAtt"][0])
    put_events = [s for s in statements if "events:PutEvents" in _as_list(s["Action"])]
    assert bool(put_events) is (name == "events")
    assert all(_refers_to(s["Resource"], bus_id) for s in put_events)


def test_user_pool_is_admin_only_with_strong_passwords_and_no_custom_attributes(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "UsernameAttributes": ["email", "phone_number"],
            "MfaConfiguration": "OPTIONAL",
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {
                        "MinimumLength": Match.any_value(),
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                    }
                )
            },
        },
    )
    (pool,) = synthesized.resources("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    # Identity lives in LeadRelay's user records: the pool holds no custom attribute at all
    assert not [a for a in pool["Properties"].get("Schema", []) if a["Name"].startswith("custom:") or
                a["Name"] in ("agent_id", "team_id")]  # fmt: skip


def test_user_groups_admin_manager_agent(synthesized):
    groups = {g["Properties"]["GroupName"] for g in synthesized.resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"admin", "manager", "agent"}


def test_app_client_has_no_secret_and_srp_only(synthesized):
    (client,) = synthesized.resources("AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["GenerateSecret"] is False
    assert set(props["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}


def _method_paths(synthesized):
    """(path, http method) → method properties, with paths rebuilt from the resource tree."""
    resources = synthesized.resources("AWS::ApiGateway::Resource")
    (api_id,) = synthesized.resources("AWS::ApiGateway::RestApi")

    def path_of(ref) -> str:
        if isinstance(ref, dict) and "Fn::GetAtt" in ref and ref["Fn::GetAtt"][0] == api_id:
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        (path_of(m["Properties"]["ResourceId"]) or "/", m["Properties"]["HttpMethod"]): m["Properties"]
        for m in synthesized.resources("AWS::ApiGateway::Method").values()
    }


def test_webhooks_have_no_cognito_authorizer(synthesized):
    methods = _method_paths(synthesized)
    ingest_id, _ = _function(synthesized, "ingest")
    for http_method in ("GET", "POST"):
        props = methods[("/hooks/{source_id}", http_method)]
        assert props["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in props
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert _refers_to(props["Integration"]["Uri"], ingest_id)


def test_lead_and_agent_resources_require_cognito(synthesized):
    methods = _method_paths(synthesized)
    api_function_id, _ = _function(synthesized, "api")
    public = {("/" + path, "GET") for path in c.PUBLIC_DOC_RESOURCES}
    expected = {"/" + path for path in c.COGNITO_RESOURCES} | {"/{proxy+}", "/"} | {path for path, _ in public}
    protected = {path for (path, verb), p in methods.items()
                 if verb != "OPTIONS" and not path.startswith("/hooks") and (path, verb) not in public}  # fmt: skip
    assert protected == expected
    for (path, verb), props in methods.items():
        if verb == "OPTIONS" or path.startswith("/hooks") or (path, verb) in public:
            continue
        assert props["AuthorizationType"] == "COGNITO_USER_POOLS", path
        assert "AuthorizerId" in props, path
        assert _refers_to(props["Integration"]["Uri"], api_function_id), path
    assert {"/leads", "/leads/{lead_id}", "/agents/{agent_id}/availability"} <= protected


def test_the_openapi_document_and_swagger_ui_are_read_without_a_token(synthesized):
    methods = _method_paths(synthesized)
    api_function_id, _ = _function(synthesized, "api")
    for path in c.PUBLIC_DOC_RESOURCES:
        props = methods[("/" + path, "GET")]
        assert props["AuthorizationType"] == "NONE" and "AuthorizerId" not in props
        assert _refers_to(props["Integration"]["Uri"], api_function_id)
        assert methods[("/" + path, "ANY")]["AuthorizationType"] == "COGNITO_USER_POOLS"


def test_api_stage_logs_access_traces_and_throttles(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "DataTraceEnabled": False,
                            "LoggingLevel": "ERROR",
                            "ThrottlingRateLimit": Match.any_value(),
                            "ThrottlingBurstLimit": Match.any_value(),
                        }
                    )
                ]
            ),
        },
    )


@pytest.mark.parametrize(
    ("response_type", "code"),
    [("UNAUTHORIZED", "unauthorized"), ("ACCESS_DENIED", "forbidden"), ("THROTTLED", "throttled"),
     ("REQUEST_TOO_LARGE", "payload_too_large"), ("DEFAULT_4XX", "bad_request"), ("DEFAULT_5XX", "internal_error")],
)  # fmt: skip
def test_errors_the_gateway_answers_itself_use_the_contracts_json_shape(synthesized, response_type, code):
    responses = synthesized.template.find_resources(
        "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": response_type}}
    )
    assert len(responses) == 1
    template = next(iter(responses.values()))["Properties"]["ResponseTemplates"]["application/json"]
    assert f'"error": "{code}"' in template and '"message"' in template


def test_stream_dlq_is_encrypted_ssl_only_and_keeps_14_days(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::SQS::Queue", {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}
    )
    synthesized.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_event_bus_is_named_after_the_stage(synthesized):
    synthesized.template.has_resource_properties("AWS::Events::EventBus", {"Name": "leadrelay-dev"})


def test_alarms_notify_the_alarm_topic(synthesized):
    alarms = [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]
    assert alarms and all(a["AlarmActions"] for a in alarms)
    # (the dashboard and the topic's customer-managed key are production options, off in dev:
    # tests/infra/test_infra_cost.py)
    synthesized.template.resource_count_is("AWS::SNS::Topic", 1)


def test_cdk_nag_passes(synthesized):
    # The session fixture synthesized with AwsSolutionsChecks as a validation plugin; any
    # unacknowledged finding would have raised ValidationFailed there.
    assert synthesized.raw["Resources"]


def test_cdk_nag_plugin_really_runs(tmp_path):
    """A deliberately non-compliant queue must fail synth: the plugin is not a no-op."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "NagProbe")
    sqs.Queue(stack, "PlainQueue")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert "AwsSolutions-SQS" in (tmp_path / "validation-report.json").read_text()


def test_definitions_expose_what_infra_reads():
    # infra reads these names; a rename in definitions must fail here, not at deploy time.
    assert definitions.LEADS_TABLE.env_var == "LEADS_TABLE"
    assert definitions.ORG_TABLE.env_var == "ORG_TABLE"
    assert definitions.EVENT_BUS_ENV == "EVENT_BUS_NAME"


def test_the_events_function_keeps_the_dashboard_reading_leads_and_writing_only_the_org_table(synthesized):
    # The dashboard's counters ride on the events function's stream mapping (docs/dashboard.md)
    _, props = _function(synthesized, "events")
    statements = _role_statements(synthesized, props["Role"]["Fn::GetAtt"][0])
    leads_id = synthesized.raw["Outputs"][c.OUTPUT_LEADS_TABLE]["Value"]["Ref"]
    org_id = synthesized.raw["Outputs"][c.OUTPUT_ORG_TABLE]["Value"]["Ref"]
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}
    assert not [s for s in statements if _refers_to(s["Resource"], leads_id) and set(_as_list(s["Action"])) & writes]
    org_actions = {a for s in statements if _refers_to(s["Resource"], org_id) for a in _as_list(s["Action"])}
    assert writes <= org_actions and "dynamodb:GetItem" in org_actions


# -- reliability: alarms, dead letters, least privilege (issue 11) ------------------------------

FREE_ALARM_METRICS = 10  # CloudWatch's free tier; each alarm metric past it costs $0.10 a month


def _alarm_metrics(alarm: dict) -> list[dict]:
    """The metrics an alarm is billed for: its one metric, or each metric inside its math."""
    if "MetricName" in alarm:
        return [alarm]
    return [m for m in alarm.get("Metrics", []) if "MetricStat" in m]


def test_the_alarms_stay_within_cloudwatchs_free_ten_metrics(synthesized):
    alarms = [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]
    billed = sum(len(_alarm_metrics(a)) for a in alarms)
    assert billed <= FREE_ALARM_METRICS, f"{billed} alarm metrics: over the free tier, check the cost budget"
    assert set(synthesized.stack.observability.alarms) == {
        "RouteFailures", "StuckLeads", "LeadsWaiting", "PullFailures", "Api5xx", "Throttles", "DlqNotEmpty",
        "RouteIteratorAge",
    }  # fmt: skip


def _metric_names(alarm: dict) -> set[tuple[str, str]]:
    found = set()
    for metric in _alarm_metrics(alarm):
        stat = metric.get("MetricStat", {}).get("Metric", metric)
        found.add((stat["Namespace"], stat["MetricName"]))
    return found


def test_the_alarms_watch_what_can_lose_or_hold_up_a_lead(synthesized):
    alarms = {
        name: synthesized.raw["Resources"][synthesized.stack.resolve(alarm.node.default_child.logical_id)]["Properties"]
        for name, alarm in synthesized.stack.observability.alarms.items()
    }
    assert _metric_names(alarms["RouteFailures"]) == {("LeadRelay", "RouteRecordsFailed")}
    assert _metric_names(alarms["StuckLeads"]) == {("LeadRelay", "StuckLeadsFound")}
    assert _metric_names(alarms["LeadsWaiting"]) == {("LeadRelay", "UnassignedLeads")}
    assert alarms["LeadsWaiting"]["EvaluationPeriods"] == definitions.LEAD_WAITING_ALARM_MINUTES
    assert _metric_names(alarms["PullFailures"]) == {("LeadRelay", "PullFailures")}
    assert _metric_names(alarms["Api5xx"]) == {("AWS/ApiGateway", "5XXError")}
    assert _metric_names(alarms["Throttles"]) == {("AWS/Lambda", "Throttles"), ("AWS/DynamoDB", "WriteThrottleEvents")}
    assert _metric_names(alarms["RouteIteratorAge"]) == {("AWS/Lambda", "IteratorAge")}
    # Every dead-letter queue in the stack is in the DLQ alarm
    queues = {k for k, v in synthesized.raw["Resources"].items() if v["Type"] == "AWS::SQS::Queue"}
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for m in _alarm_metrics(alarms["DlqNotEmpty"])
        for d in m["MetricStat"]["Metric"]["Dimensions"]
    }
    assert watched == queues and len(queues) == 2
    for alarm in alarms.values():
        assert alarm["AlarmActions"] and alarm["OKActions"]


def test_custom_metric_names_are_fixed_and_published_by_the_handlers(synthesized):
    root = Path(__file__).resolve().parents[2]
    sources = {name: (root / "functions" / name / f"{name}_handler.py").read_text() for name in ("route", "followup")}
    assert 'name="RouteRecordsFailed"' in sources["route"]
    assert 'name="UnassignedLeads"' in sources["followup"] and 'name="PullFailures"' in sources["followup"]
    assert '"StuckLeadsFound"' in sources["followup"]


def test_every_eventbridge_rule_target_has_a_dead_letter_queue_and_a_retry_policy(synthesized):
    rules = synthesized.resources("AWS::Events::Rule").values()
    assert rules
    for rule in rules:
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][1] == "Arn", target
            assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, target


FORBIDDEN_EVERYWHERE = {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:*"}


@pytest.mark.parametrize("name", HANDLERS)
def test_each_function_may_call_only_the_dynamodb_actions_its_code_calls(synthesized, name):
    from leadrelay_infra.permissions import TABLE_ACTIONS

    _, props = _function(synthesized, name)
    statements = _role_statements(synthesized, props["Role"]["Fn::GetAtt"][0])
    granted = {
        action
        for s in statements
        for action in _as_list(s["Action"])
        if action.startswith("dynamodb:") and not action.startswith("dynamodb:ListStreams")
        and action not in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
    }  # fmt: skip
    expected = {action for actions in TABLE_ACTIONS[name].values() for action in actions}
    assert granted == expected
    # A batch write: the dashboard feed (events function); a batch read: the api's search hits.
    # No Scan and no wildcard anywhere.
    allowed_batches = {"events": {"dynamodb:BatchWriteItem"}, "api": {"dynamodb:BatchGetItem"}}.get(name, set())
    assert not granted & FORBIDDEN_EVERYWHERE - allowed_batches
    assert ("dynamodb:DeleteItem" in granted) is (name == "api")
