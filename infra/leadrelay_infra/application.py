"""Build the CDK app: one stage, one stack, cdk-nag as a validation plugin."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from leadrelay_infra import constants as c
from leadrelay_infra.config import StageConfig
from leadrelay_infra.stack import LeadRelayStack


def create_app(
    *,
    outdir: str | Path | None = None,
    context: dict[str, Any] | None = None,
    skip_bundling: bool | None = None,
    nag: bool = True,
) -> tuple[cdk.App, LeadRelayStack]:
    """The app and its stack. `skip_bundling` (default: env LEADRELAY_SKIP_BUNDLING) synthesizes
    without building the layer, for tests and quick checks."""
    if skip_bundling is None:
        skip_bundling = os.environ.get(c.SKIP_BUNDLING_ENV, "") not in ("", "0", "false")
    app = cdk.App(
        outdir=str(outdir or os.environ.get("CDK_OUTDIR") or c.REPO_ROOT / "cdk.out"),
        context=context,
        # Post-CLI context wins over the CLI's own `aws:cdk:bundling-stacks` default.
        post_cli_context={c.BUNDLING_STACKS_CONTEXT: []} if skip_bundling else None,
    )
    if nag:
        # cdk-nag 3 is a validation plugin: any unacknowledged finding fails synth.
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    config = StageConfig.from_context(app.node)
    stack = LeadRelayStack(
        app,
        c.stack_name(config.stage),
        config=config,
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=c.REGION),
        description=f"LeadRelay ({config.stage}): lead capture, routing and follow-up",
    )
    return app, stack
