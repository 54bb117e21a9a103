"""The exports bucket and the export function, as synthesized (cdk-nag on).

Given the dev stack
When the bucket, the export function and the api function's grants are looked up
Then the bucket is private, TLS-only, encrypted, unversioned and forgets files after the DPDP
retention in definitions; the export function may only put/get files under the exports prefix;
the api may only presign, delete and abort there, and invoke the export function.
"""

from __future__ import annotations

import pytest

from leadrelay.definitions import EXPORTS

pytestmark = pytest.mark.infra


def _bucket(synthesized):
    buckets = synthesized.resources("AWS::S3::Bucket")
    assert len(buckets) == 1
    return next(iter(buckets.items()))


def _function(synthesized, handler: str):
    found = [(i, r) for i, r in synthesized.resources("AWS::Lambda::Function").items()
             if r["Properties"]["Handler"] == handler]  # fmt: skip
    assert len(found) == 1
    return found[0]


def _statements_of_role(synthesized, function_id: str) -> list[dict]:
    role_ref = synthesized.raw["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_ref} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _s3_statements(statements: list[dict]) -> list[dict]:
    def actions(s: dict) -> list[str]:
        return s["Action"] if isinstance(s["Action"], list) else [s["Action"]]

    return [s for s in statements if any(a.startswith("s3:") for a in actions(s))]


def test_the_bucket_is_private_tls_only_encrypted_unversioned_and_expires_files_after_the_retention(synthesized):
    bucket_id, bucket = _bucket(synthesized)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }  # fmt: skip
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert "VersioningConfiguration" not in props
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == EXPORTS.prefix
    assert rule["ExpirationInDays"] == EXPORTS.retention_days
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": EXPORTS.abort_incomplete_upload_days}
    policies = [p for p in synthesized.resources("AWS::S3::BucketPolicy").values()
                if p["Properties"]["Bucket"] == {"Ref": bucket_id}]  # fmt: skip
    (policy,) = policies
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_export_function_only_puts_and_gets_files_under_the_exports_prefix(synthesized):
    bucket_id, _ = _bucket(synthesized)
    function_id, function = _function(synthesized, "export_handler.handler")
    assert function["Properties"]["Environment"]["Variables"][EXPORTS.env_var] == {"Ref": bucket_id}
    (statement,) = _s3_statements(_statements_of_role(synthesized, function_id))
    assert sorted(statement["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{EXPORTS.prefix}*"]]}


def test_the_api_presigns_deletes_and_aborts_under_the_prefix_and_invokes_the_export_function(synthesized):
    bucket_id, _ = _bucket(synthesized)
    export_id, _ = _function(synthesized, "export_handler.handler")
    api_id, api = _function(synthesized, "api_handler.handler")
    variables = api["Properties"]["Environment"]["Variables"]
    assert variables[EXPORTS.env_var] == {"Ref": bucket_id}
    assert variables[EXPORTS.function_env_var] == {"Ref": export_id}
    statements = _statements_of_role(synthesized, api_id)
    (files,) = _s3_statements(statements)
    assert sorted(files["Action"]) == ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject"]
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert invoke and all(export_id in str(s["Resource"]) for s in invoke)
