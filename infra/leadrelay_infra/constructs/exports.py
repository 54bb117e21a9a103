"""Large CSV exports: the exports bucket and the export function that writes it.

The api function queues a job and invokes the export function asynchronously; the function writes
the CSV to the bucket (multipart, under a random key) and the api hands out a presigned GET of it.
The bucket is private (public access blocked, TLS only, S3-managed encryption) and forgets every
file after `definitions.EXPORTS.retention_days` (DPDP); multipart uploads a crashed runner left
are aborted after `abort_incomplete_upload_days`. No versioning: a deleted file must be gone.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from leadrelay.definitions import EXPORTS
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import EXPORT_FUNCTION
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.nag import acknowledge
from leadrelay_infra.permissions import grant_tables

# What each side may do with the files (only under the exports prefix). The export function writes
# (PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload) and reads
# back the head of a file it may have completed before a crash; the api function presigns GETs and,
# for an erasure, deletes a file and aborts an unfinished upload.
EXPORT_FUNCTION_ACTIONS = ("s3:PutObject", "s3:GetObject")
API_FUNCTION_ACTIONS = ("s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload")


class Exports(Construct):
    """The exports bucket and the export function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layer: lambda_.ILayerVersion,
        data: DataTables,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=config.removal_policy,
            auto_delete_objects=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="dpdp-retention",
                    prefix=EXPORTS.prefix,
                    expiration=cdk.Duration.days(EXPORTS.retention_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(EXPORTS.abort_incomplete_upload_days),
                )
            ],
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "No server access log bucket: files live at most "
            f"{EXPORTS.retention_days} days under random keys, every download link is issued by the API "
            "to the export's creator (or an admin) and written to the audit log, and every row a file "
            "holds is in the access log when the export function reads it.",
        )
        folder, handler = EXPORT_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment={**environment, EXPORTS.env_var: self.bucket.bucket_name},
            description="Large CSV exports: writes the file to the exports bucket in the background",
        )
        self.function = self.handler.function
        grant_tables(data, self.function, "export")  # only the actions it calls (permissions.py)
        data.acknowledge_grants(self.handler.role)
        self.grant_files(self.handler.role, EXPORT_FUNCTION_ACTIONS)

    def grant_files(self, role: iam.IRole, actions: tuple[str, ...]) -> None:
        """`actions` on the files under the exports prefix, and nothing else of the bucket."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=[self.bucket.arn_for_objects(f"{EXPORTS.prefix}*")])
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{_bucket_id(self.bucket)}.Arn>/{EXPORTS.prefix}*]",
            "Export files have random keys made at run time; the wildcard covers only the exports prefix "
            "of this one bucket.",
        )

    def connect_api(self, api_function: lambda_.Function, api_role: iam.IRole) -> None:
        """The api function queues jobs, starts runners, presigns downloads and erases files."""
        api_function.add_environment(EXPORTS.env_var, self.bucket.bucket_name)
        api_function.add_environment(EXPORTS.function_env_var, self.function.function_name)
        # The function itself, not `grant_invoke`'s `<arn>:*` (versions and aliases it does not have).
        api_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.grant_files(api_role, API_FUNCTION_ACTIONS)


def _bucket_id(bucket: s3.Bucket) -> str:
    from leadrelay_infra.nag import logical_id

    return logical_id(bucket.node.default_child)  # type: ignore[arg-type]
