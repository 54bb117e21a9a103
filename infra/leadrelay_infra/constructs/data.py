"""The DynamoDB tables, built from `leadrelay.definitions` (the local stack reads the same)."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from leadrelay.definitions import LEADS_TABLE, ORG_TABLE, TABLES, TableDef
from leadrelay_infra.config import StageConfig
from leadrelay_infra.nag import acknowledge, logical_id


class DataKey(Construct):
    """One customer-managed key for PII at rest (tables) and for the alarm topic: a production
    option ($1 a month, StageConfig.customer_managed_key), for a key the customer controls and can
    revoke; without it the tables use DynamoDB's AWS-managed key."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"LeadRelay {config.stage}: lead data (PII) at rest",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
            pending_window=cdk.Duration.days(30 if config.is_prod else 7),
        )
        # CloudWatch alarms publish to the encrypted alarm topic and need the key for that.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            )
        )


class DataTables(Construct):
    """The leads and org tables: on-demand, PITR, KMS-encrypted (the customer-managed key when
    there is one, else DynamoDB's AWS-managed key), layout from definitions."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, key: kms.IKey | None) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.tables: dict[str, dynamodb.Table] = {
            table_def.logical_name: self._table(table_def, config, key) for table_def in TABLES
        }

    @property
    def leads(self) -> dynamodb.Table:
        return self.tables[LEADS_TABLE.logical_name]

    @property
    def org(self) -> dynamodb.Table:
        return self.tables[ORG_TABLE.logical_name]

    def environment(self) -> dict[str, str]:
        """Table names under the env var names the handlers read."""
        return {table_def.env_var: self.tables[table_def.logical_name].table_name for table_def in TABLES}

    def acknowledge_grants(self, role: iam.IRole) -> None:
        """The wildcards that CDK's table grants contain, acknowledged on one function's role."""
        if self.key is not None:
            acknowledge(
                role,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                "Added by the table grant for the data key: DynamoDB needs GenerateDataKey* variants "
                "on this one key to write items; the resource is the key's ARN, not '*'.",
            )
            acknowledge(
                role,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                "Added by the table grant for the data key (ReEncryptFrom/To on this one key ARN).",
            )
        for table_def in TABLES:
            if table_def.indexes:
                table = self.tables[table_def.logical_name]
                names = ", ".join(index.name for index in table_def.indexes)
                table_id = logical_id(cast(cdk.CfnResource, table.node.default_child))
                acknowledge(
                    role,
                    f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]",
                    f"Queries on this table's own GSIs ({names}); the wildcard cannot reach another table.",
                )

    def _table(self, table_def: TableDef, config: StageConfig, key: kms.IKey | None) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            table_def.logical_name,
            partition_key=dynamodb.Attribute(name=table_def.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=table_def.sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED if key is not None else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=key,
            stream=dynamodb.StreamViewType[table_def.stream] if table_def.stream else None,
            time_to_live_attribute=table_def.ttl_attribute,
            removal_policy=config.removal_policy,
            deletion_protection=config.is_prod,
        )
        for index in table_def.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=(
                    dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING)
                    if index.sort_key
                    else None
                ),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
