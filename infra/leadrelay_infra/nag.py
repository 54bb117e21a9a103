"""cdk-nag 3 acknowledgments: every one names its rule, its construct and a reason."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

LAMBDA_BASIC_EXECUTION = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on `scope` (and only its subtree)."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The resolved logical id of an L1 resource, as cdk-nag prints it in finding ids."""
    stack = cdk.Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct)))  # type: ignore[arg-type]
