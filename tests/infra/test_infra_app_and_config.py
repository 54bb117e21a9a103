"""The CDK entry point, the stage config and the layer builder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import build_layer
import pytest
from aws_cdk import aws_logs as logs

from leadrelay_infra.config import StageConfig

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_app_py_writes_the_dev_template_for_mumbai(tmp_path):
    # Given a clean output folder and no layer build (no network needed)
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "LEADRELAY_SKIP_BUNDLING": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("CDK_CONTEXT_JSON", None)
    # When infra/app.py runs from another working directory
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it synthesizes LeadRelay-dev for ap-south-1 and cdk-nag raised nothing
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "LeadRelay-dev.template.json").read_text())
    assert template["Resources"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["LeadRelay-dev"]["environment"].endswith("/ap-south-1")


AT_LEAST_A_YEAR = {
    logs.RetentionDays.ONE_YEAR,
    logs.RetentionDays.THIRTEEN_MONTHS,
    logs.RetentionDays.EIGHTEEN_MONTHS,
    logs.RetentionDays.TWO_YEARS,
    logs.RetentionDays.FIVE_YEARS,
    logs.RetentionDays.TEN_YEARS,
}


def _config(**context) -> StageConfig:
    return StageConfig.from_context(cdk.App(context=context).node)


def test_dev_is_the_default_stage_and_is_disposable():
    config = _config()
    assert config.stage == "dev"
    assert config.removal_policy == cdk.RemovalPolicy.DESTROY
    assert config.allows_all_origins


def test_prod_keeps_data_and_audit_logs_for_more_than_a_year():
    config = _config(stage="prod", allowed_origins="https://app.example.in", alarm_email="ops@example.in")
    assert config.is_prod
    assert config.removal_policy == cdk.RemovalPolicy.RETAIN
    assert config.audit_log_retention in AT_LEAST_A_YEAR
    assert config.cors_allow_origins == ("https://app.example.in",)


def test_prod_refuses_to_guess_the_frontend_origin():
    with pytest.raises(ValueError, match="allowed_origins"):
        _config(stage="prod", alarm_email="ops@example.in")


def test_prod_refuses_to_deploy_alarms_nobody_receives():
    with pytest.raises(ValueError, match="alarm_email"):
        _config(stage="prod", allowed_origins="https://app.example.in")


def test_stage_names_are_checked():
    with pytest.raises(ValueError, match="stage"):
        _config(stage="Prod Stage!")


def test_layer_build_fetches_arm64_cp313_binary_wheels_without_bytecode():
    command = build_layer.pip_command(REPO_ROOT / "build" / "x")
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert "--no-compile" in command


def test_layer_build_copies_the_domain_package_under_python(tmp_path):
    # Given no third-party requirements (so no download)
    size = build_layer.build_layer(tmp_path / "layer", requirements=tmp_path / "none.txt", bytecode=False)
    # Then the layer holds python/leadrelay with the shared definitions and no bytecode caches
    assert (tmp_path / "layer" / "python" / "leadrelay" / "definitions.py").is_file()
    assert not list((tmp_path / "layer").rglob("__pycache__"))
    # and leaves the laptop-only local stack and CLI out of what Lambda loads
    assert not (tmp_path / "layer" / "python" / "leadrelay" / "local").exists()
    assert not (tmp_path / "layer" / "python" / "leadrelay" / "cli.py").exists()
    assert size > 0


def test_layer_requirements_list_the_runtime_dependencies():
    text = (REPO_ROOT / "layers" / "shared" / "requirements.txt").read_text()
    names = {
        line.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert names == {"aws-lambda-powertools", "pydantic", "phonenumbers", "tzdata", "defusedxml"}
    assert "aws-lambda-powertools[tracer]" in text


def test_prod_stack_retains_data_and_passes_cdk_nag(tmp_path):
    from leadrelay_infra.application import create_app

    # Given the prod stage
    app, stack = create_app(
        outdir=tmp_path,
        context={"stage": "prod", "allowed_origins": "https://app.example.in", "alarm_email": "ops@example.in"},
        skip_bundling=True,
    )
    # When it is synthesized with cdk-nag on (a finding raises)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    # Then tables, key and pool survive a stack deletion and the audit log is kept 13 months
    assert stack.stack_name == "LeadRelay-prod"
    resources = template["Resources"].values()
    tables = [r for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables and all(r["DeletionPolicy"] == "Retain" for r in tables)
    assert all(r["Properties"]["DeletionProtectionEnabled"] is True for r in tables)
    assert all(r["DeletionPolicy"] == "Retain" for r in resources if r["Type"] == "AWS::KMS::Key")
    audit = [
        r
        for r in resources
        if r["Type"] == "AWS::Logs::LogGroup"
        and str(r["Properties"].get("LogGroupName", "")).startswith("/aws/events/")
    ]
    assert [r["Properties"]["RetentionInDays"] for r in audit] == [400]
