"""The default deployment fits ₹150 a month at 10 agents × 3,000 leads; the dashboard and the
customer-managed key are production options, priced, and cdk-nag stays clean with them on."""

from __future__ import annotations

import sys

import pytest

from tests.infra.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))

from bench import cost

pytestmark = pytest.mark.infra


def test_the_default_stage_has_no_dashboard_and_no_customer_managed_key(synthesized):
    # Given the dev stage with its defaults
    template = synthesized.template
    # Then there is no paid dashboard and no $1-a-month key
    template.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    template.resource_count_is("AWS::KMS::Key", 0)
    # and the tables are still encrypted with KMS (SSEEnabled alone: DynamoDB's AWS-managed key)
    for table in synthesized.resources("AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    # and the alarms stay within CloudWatch's 10 free alarm metrics
    assert len(synthesized.resources("AWS::CloudWatch::Alarm")) <= 10


def test_the_default_bill_at_10_agents_and_3000_leads_is_at_most_150_rupees(synthesized):
    # When the cost model prices the synthesized dev template
    result = cost.model("dev", template=synthesized.raw)
    # Then the code emits at most 10 custom metrics, none named from values
    assert result["custom_metrics"]["names_built_from_values"] == []
    assert result["custom_metrics"]["count"] <= 10
    # and the month costs at most ₹150 at 10 × 3,000, and grows with volume
    bill = cost.inr_per_month(result)
    assert bill["10x3000"] <= 150, result["volumes"]["10x3000"]
    assert bill["10x3000"] < bill["50x30000"] < bill["500x300000"]


def test_dashboard_and_customer_managed_key_are_switches_that_pass_cdk_nag_and_show_their_price(tmp_path):
    from aws_cdk.assertions import Match, Template

    from leadrelay_infra.application import create_app

    # Given the dev stage with both production options turned on (cdk-nag on: a finding raises)
    app, stack = create_app(
        outdir=tmp_path, context={"stage": "dev", "dashboard": "true", "cmk": "true"}, skip_bundling=True, nag=True
    )
    raw = app.synth().get_stack_by_name(stack.stack_name).template
    template = Template.from_json(raw)
    # Then the dashboard and the key exist, the tables and the alarm topic use the key
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::DynamoDB::Table", {"SSESpecification": {"SSEEnabled": True, "KMSMasterKeyId": Match.any_value()}}
    )
    # and the cost model prices them: $1 for the key, $3 for the dashboard once the free ones are used
    with_options = cost.model("dev", template=raw, free_tier=False)["volumes"]["10x3000"]["lines_usd"]
    assert with_options["CloudWatch dashboards"] == 3.0
    assert with_options["KMS (customer-managed key)"] >= 1.0
