"""The shared layer: the `leadrelay` domain package plus its third-party wheels (arm64)."""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from build_layer import build_layer
from constructs import Construct

from leadrelay_infra.constants import LAYER_SOURCE_DIR

# Never pulled: the local bundler below always succeeds, and there is no Docker here.
_UNUSED_BUNDLING_IMAGE = "public.ecr.aws/sam/build-python3.13:latest"


@jsii.implements(cdk.ILocalBundling)
class LocalLayerBundling:
    """Builds the layer on this machine with pip's --platform download and Python 3.13 bytecode
    (see infra/build_layer.py); a missing 3.13 stops the synth with the reason. The asset's
    `exclude` applies to the source folder only, so the bundled `.pyc` files are shipped."""

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: object) -> bool:
        size = build_layer(Path(output_dir))
        print(f"leadrelay layer bundled: {size / 1024 / 1024:.1f} MB unzipped", file=sys.stderr)
        return True


class SharedLayer(Construct):
    """A `LayerVersion` for arm64, Python 3.12/3.13."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description=f"LeadRelay {stage}: leadrelay domain package and its dependencies",
            code=lambda_.Code.from_asset(
                str(LAYER_SOURCE_DIR),
                exclude=["**/__pycache__", "**/*.pyc", "**/*.egg-info"],
                bundling=cdk.BundlingOptions(
                    image=cdk.DockerImage.from_registry(_UNUSED_BUNDLING_IMAGE),
                    local=LocalLayerBundling(),
                ),
            ),
            compatible_architectures=[lambda_.Architecture.ARM_64],
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12, lambda_.Runtime.PYTHON_3_13],
        )
