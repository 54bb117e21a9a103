"""Build the CDK app once per test session (starting jsii and synthesizing cost seconds)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@dataclass
class Synthesized:
    stack: Any
    template: Any  # aws_cdk.assertions.Template
    raw: dict[str, Any]
    region: str

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == resource_type}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The dev stack, synthesized with the cdk-nag plugin on (a finding raises here)."""
    from aws_cdk.assertions import Template

    from leadrelay_infra.application import create_app

    app, stack = create_app(outdir=tmp_path_factory.mktemp("cdk.out"), skip_bundling=True, nag=True)
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(stack.stack_name)
    return Synthesized(
        stack=stack,
        template=Template.from_json(artifact.template),
        raw=artifact.template,
        region=artifact.environment.region,
    )
