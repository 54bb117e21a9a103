"""Identity and abuse limits in the synthesized stack: no client can write an identity attribute or
sign in with USER_PASSWORD_AUTH, refresh tokens last the configured days, TOTP is available, the
api function manages people in this pool only, webhooks are throttled apart, WAF on a switch."""

from __future__ import annotations

import pytest

from leadrelay_infra import constants as c

pytestmark = pytest.mark.infra

STANDARD_WRITABLE = {"name", "locale"}
PASSWORD_FLOWS = {"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                  "ADMIN_NO_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_USER_AUTH"}  # fmt: skip


def _clients(synthesized):
    return [r["Properties"] for r in synthesized.resources("AWS::Cognito::UserPoolClient").values()]


def test_no_app_client_can_write_a_custom_or_identity_attribute(synthesized):
    # Given every app client of the pool
    clients = _clients(synthesized)
    assert clients
    for props in clients:
        # Then each names what it may write (no list would mean: every mutable attribute)
        writable = set(props["WriteAttributes"])
        # And that is standard profile attributes only
        assert writable <= STANDARD_WRITABLE, writable
        assert not [a for a in writable if a.startswith("custom:")]


def test_no_app_client_signs_in_with_a_plain_password(synthesized):
    for props in _clients(synthesized):
        flows = set(props["ExplicitAuthFlows"])
        assert not flows & PASSWORD_FLOWS, flows
        assert "ALLOW_USER_SRP_AUTH" in flows


def test_refresh_tokens_last_seven_days_by_default_and_can_be_revoked(synthesized):
    (props,) = _clients(synthesized)
    assert props["RefreshTokenValidity"] == 7 * 24 * 60
    assert props["TokenValidityUnits"]["RefreshToken"] == "minutes"
    assert props["EnableTokenRevocation"] is True


def test_totp_is_available_and_sms_mfa_is_not(synthesized):
    (pool,) = synthesized.resources("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "OPTIONAL"
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_the_api_function_manages_people_in_this_pool_only(synthesized):
    from tests.infra.test_infra_stack import _function, _refers_to, _role_statements

    (pool_id,) = synthesized.resources("AWS::Cognito::UserPool")
    _, props = _function(synthesized, "api")
    assert _refers_to(props["Environment"]["Variables"]["USER_POOL_ID"], pool_id)
    statements = _role_statements(synthesized, props["Role"]["Fn::GetAtt"][0])
    cognito = [s for s in statements if any(str(a).startswith("cognito-idp:") for a in _as_list(s["Action"]))]
    assert {a for s in cognito for a in _as_list(s["Action"])} == set(c.USER_POOL_ADMIN_ACTIONS)
    assert all(_refers_to(s["Resource"], pool_id) for s in cognito)
    # And no other function may touch the pool
    for name in ("ingest", "route", "followup"):
        _, other = _function(synthesized, name)
        other_statements = _role_statements(synthesized, other["Role"]["Fn::GetAtt"][0])
        assert not [s for s in other_statements if "cognito" in str(s["Action"])]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_webhooks_have_their_own_throttle_apart_from_the_rest_api(synthesized):
    (stage,) = synthesized.resources("AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    default = settings[("/*", "*")]
    for method in c.HOOK_METHODS:
        hook = settings[("/~1hooks~1{source_id}", method)]
        assert hook["ThrottlingRateLimit"] > 0 and hook["ThrottlingBurstLimit"] > 0
    assert default["ThrottlingRateLimit"] > 0


def test_no_web_acl_unless_switched_on(synthesized):
    assert not synthesized.resources("AWS::WAFv2::WebACL")


def test_waf_switch_adds_a_per_ip_rate_rule_and_the_aws_common_rules(tmp_path_factory):
    # Given the dev stage with -c waf=true (cdk-nag on: a finding would fail synth)
    from aws_cdk.assertions import Template

    from leadrelay_infra.application import create_app

    app, stack = create_app(outdir=tmp_path_factory.mktemp("waf"), context={"waf": "true"}, skip_bundling=True)
    template = Template.from_json(app.synth().get_stack_by_name(stack.stack_name).template)
    raw = template.to_json()
    # Then one regional web ACL blocks an IP over the rate and applies the AWS common rules
    (acl,) = [r["Properties"] for r in raw["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL"]
    assert acl["Scope"] == "REGIONAL"
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert rules["PerIpRate"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rules["PerIpRate"]["Action"] == {"Block": {}}
    managed = rules["AwsCommonRules"]["Statement"]["ManagedRuleGroupStatement"]
    assert (managed["VendorName"], managed["Name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    # And it is attached to the API's stage
    (association,) = [r["Properties"] for r in raw["Resources"].values()
                      if r["Type"] == "AWS::WAFv2::WebACLAssociation"]  # fmt: skip
    assert "Fn::GetAtt" in association["WebACLArn"]


def test_refresh_token_days_come_from_the_stage_config():
    import aws_cdk as cdk

    from leadrelay_infra.config import StageConfig

    assert StageConfig.from_context(cdk.App().node).refresh_token_days == 7
    assert StageConfig.from_context(cdk.App(context={"refresh_token_days": "3"}).node).refresh_token_days == 3
    with pytest.raises(ValueError, match="refresh_token_days"):
        StageConfig.from_context(cdk.App(context={"refresh_token_days": "0"}).node)
