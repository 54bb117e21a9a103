"""Background exports over AWS: the job records (org table), the files (the exports bucket) and
the launcher (an asynchronous invoke of the export function).

Org table items, each expiring (TTL `expires_at`) with the file, so nothing outlives it:

- `EXPORT#<id>` / `JOB`                       the job (`leadrelay.export_job.ExportJob`)
- `EXPORT#<id>` / `LEADS#<part>#<chunk>`      the lead ids in that part of the file (for erasure)
- `EXPORTS` / `<created at ISO>#<id>`          every export still within retention (for erasure)

Every write by a runner is conditional on the runner holding the job (`runner`, status running),
so a runner that lost its lease, or a job an erasure removed meanwhile, writes nothing more.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from leadrelay.clock import iso, parse_iso
from leadrelay.models.export_job import IDS_PER_ITEM, ExportJob, ExportStatus
from leadrelay.store.dynamo import client, from_item, if_condition_holds, query_all, to_item

JOB_SK = "JOB"
REGISTRY_PK = "EXPORTS"
_TIMES = ("created_at", "lease_until", "finished_at")


def _pk(export_id: str) -> str:
    return f"EXPORT#{export_id}"


def _ttl(job: ExportJob) -> int:
    return int(job.expires_at.timestamp())


def _item(job: ExportJob) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _pk(job.export_id), "sk": JOB_SK, "export_id": job.export_id, "user_id": job.user_id,
        "username": job.username, "created_at": iso(job.created_at), "file_expires_at": iso(job.expires_at),
        "key": job.key, "query": json.dumps(job.query), "status": job.status.value, "rows": job.rows,
        "parts": job.parts, "completing": job.completing, "expires_at": _ttl(job),
    }  # fmt: skip
    for name in ("cursor", "upload_id", "runner", "error"):
        if getattr(job, name) is not None:
            item[name] = getattr(job, name)
    for name in ("lease_until", "finished_at"):
        if getattr(job, name) is not None:
            item[name] = iso(getattr(job, name))
    return item


def _job(item: dict[str, Any]) -> ExportJob:
    return ExportJob(
        export_id=item["export_id"], user_id=item["user_id"], username=item["username"],
        created_at=parse_iso(item["created_at"]), expires_at=parse_iso(item["file_expires_at"]), key=item["key"],
        query=json.loads(item["query"]), status=ExportStatus(item["status"]), rows=int(item.get("rows", 0)),
        parts=[{"n": int(p["n"]), "etag": p["etag"], "rows": int(p["rows"])} for p in item.get("parts", [])],
        cursor=item.get("cursor"), upload_id=item.get("upload_id"), completing=bool(item.get("completing")),
        runner=item.get("runner"), error=item.get("error"),
        lease_until=parse_iso(item["lease_until"]) if item.get("lease_until") else None,
        finished_at=parse_iso(item["finished_at"]) if item.get("finished_at") else None,
    )  # fmt: skip


_HELD = "runner = :runner AND #status = :running"


class ExportRecords:
    """The job records: create, read, and the runner's conditional steps (`JobRecords`)."""

    def __init__(self, table: str) -> None:
        self.table = table

    def create(self, job: ExportJob) -> None:
        """The job and its registry line, together."""
        registry = {"pk": REGISTRY_PK, "sk": f"{iso(job.created_at)}#{job.export_id}",
                    "export_id": job.export_id, "expires_at": _ttl(job)}  # fmt: skip
        client().transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table, "Item": to_item(_item(job)),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": self.table, "Item": to_item(registry)}},
            ]
        )  # fmt: skip

    def get(self, export_id: str) -> ExportJob | None:
        item = (
            client()
            .get_item(TableName=self.table, Key=to_item({"pk": _pk(export_id), "sk": JOB_SK}), ConsistentRead=True)
            .get("Item")
        )
        return _job(from_item(item)) if item else None

    def _update(self, job: ExportJob, expression: str, values: dict[str, Any], condition: str) -> bool:
        done = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": _pk(job.export_id), "sk": JOB_SK}),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={
                name: name[1:] for name in ("#status", "#error") if name in expression + condition
            },
            ExpressionAttributeValues=to_item(values),
        )
        return done is not None

    def claim(self, export_id: str, runner: str, now: datetime, lease_until: datetime) -> ExportJob | None:
        """Take the job for `runner` until `lease_until` when it is unfinished and nobody holds it."""
        response = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": _pk(export_id), "sk": JOB_SK}),
            UpdateExpression="SET #status = :running, runner = :runner, lease_until = :until",
            ConditionExpression="#status IN (:queued, :running) AND "
            "(attribute_not_exists(lease_until) OR lease_until <= :now)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item(
                {
                    ":running": "running",
                    ":queued": "queued",
                    ":runner": runner,
                    ":until": iso(lease_until),
                    ":now": iso(now),
                }
            ),
            ReturnValues="ALL_NEW",
        )
        return _job(from_item(response["Attributes"])) if response else None

    def begin_upload(self, job: ExportJob, runner: str, upload_id: str) -> bool:
        return self._update(job, "SET upload_id = :upload", {":upload": upload_id, ":runner": runner,
                                                              ":running": "running"}, _HELD)  # fmt: skip

    def commit_part(
        self, job: ExportJob, runner: str, part: dict[str, Any], cursor: str | None, lead_ids: list[str], last: bool
    ) -> bool:
        """The part's lead-id index first (idempotent puts), then the record: one more part, the
        cursor after it, the rows; only if this runner still holds the job at that part count."""
        for chunk, start in enumerate(range(0, max(len(lead_ids), 1), IDS_PER_ITEM)):
            ids = lead_ids[start : start + IDS_PER_ITEM]
            if not ids:
                break
            item = {"pk": _pk(job.export_id), "sk": f"LEADS#{part['n']:05d}#{chunk:03d}", "lead_ids": ids,
                    "expires_at": _ttl(job)}  # fmt: skip
            client().put_item(TableName=self.table, Item=to_item(item))
        values = {":part": [part], ":rows": part["rows"], ":runner": runner, ":running": "running",
                  ":count": len(job.parts), ":last": last}  # fmt: skip
        expression = "SET parts = list_append(parts, :part), #rows = #rows + :rows, completing = :last"
        if cursor is None:
            expression += " REMOVE #cursor"
        else:
            expression += ", #cursor = :cursor"
            values[":cursor"] = cursor
        done = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": _pk(job.export_id), "sk": JOB_SK}),
            UpdateExpression=expression,
            ConditionExpression=_HELD + " AND size(parts) = :count",
            ExpressionAttributeNames={"#status": "status", "#rows": "rows", "#cursor": "cursor"},
            ExpressionAttributeValues=to_item(values),
        )
        return done is not None

    def finish(self, job: ExportJob, runner: str, now: datetime) -> bool:
        return self._update(job, "SET #status = :done, finished_at = :now REMOVE runner, lease_until",
                            {":done": "done", ":now": iso(now), ":runner": runner, ":running": "running"},
                            _HELD)  # fmt: skip

    def fail(self, job: ExportJob, runner: str, error: str, now: datetime) -> bool:
        expression = "SET #status = :failed, #error = :error, finished_at = :now REMOVE runner, lease_until"
        return self._update(job, expression,
                            {":failed": "failed", ":error": error[:500], ":now": iso(now), ":runner": runner,
                             ":running": "running"}, _HELD)  # fmt: skip

    def release(self, job: ExportJob, runner: str) -> bool:
        return self._update(job, "REMOVE runner, lease_until", {":runner": runner, ":running": "running"}, _HELD)

    # -- erasure ---------------------------------------------------------------------------------

    def live_exports(self, since: datetime) -> list[str]:
        """Ids of the exports created since `since` (the oldest whose file can still exist)."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk >= :since",
            ExpressionAttributeValues=to_item({":pk": REGISTRY_PK, ":since": iso(since)}),
        )
        return [str(item["export_id"]) for item in items]

    def holds_any(self, export_id: str, lead_ids: list[str]) -> bool:
        """Whether a written part of the export holds one of `lead_ids`."""
        wanted = set(lead_ids)
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :leads)",
            ExpressionAttributeValues=to_item({":pk": _pk(export_id), ":leads": "LEADS#"}),
        )
        return any(wanted.intersection(item.get("lead_ids", [])) for item in items)

    def mark_removed(self, export_id: str, reason: str) -> ExportJob | None:
        """The job as expired (its file removed), whatever state it was in; the job as it was."""
        response = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": _pk(export_id), "sk": JOB_SK}),
            UpdateExpression="SET #status = :expired, #error = :reason REMOVE runner, lease_until",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status", "#error": "error"},
            ExpressionAttributeValues=to_item({":expired": "expired", ":reason": reason}),
            ReturnValues="ALL_OLD",
        )
        return _job(from_item(response["Attributes"])) if response else None


@lru_cache(maxsize=1)
def s3_client() -> Any:
    """The process's S3 client (botocore's: boto3 would load s3transfer for nothing). Path-style
    addressing against a custom endpoint (the local stack's moto server), so a presigned URL
    names a host the laptop reaches."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(
        retries={"max_attempts": 4, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    return botocore.session.get_session().create_client("s3", config=config)


class ExportFiles:
    """The exports bucket (`ExportFiles` of the job): multipart uploads, presigned downloads."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def start(self, key: str) -> str:
        response = s3_client().create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType="text/csv; charset=utf-8",
            ContentDisposition=f'attachment; filename="{key.rsplit("/", 1)[-1]}"',
        )  # fmt: skip
        return str(response["UploadId"])

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        response = s3_client().upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                           Body=body)  # fmt: skip
        return str(response["ETag"])

    def complete(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        """Idempotent: an upload completed before (a runner died right after) counts as done."""
        try:
            s3_client().complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p["n"], "ETag": p["etag"]} for p in parts]},
            )  # fmt: skip
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchUpload" or not self.exists(key):
                raise

    def abort(self, key: str, upload_id: str) -> None:
        try:
            s3_client().abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchUpload":
                raise

    def exists(self, key: str) -> bool:
        try:
            s3_client().head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        s3_client().delete_object(Bucket=self.bucket, Key=key)

    def url(self, key: str, expires_in_s: int) -> str:
        """A presigned GET: whoever holds it may download the file until it expires."""
        return str(
            s3_client().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in_s
            )
        )


# -- launching a runner ------------------------------------------------------------------------

_local_launcher: Callable[[str], None] | None = None
_launcher_lock = threading.Lock()


def set_local_launcher(launch: Callable[[str], None] | None) -> None:
    """The local stack (and tests) run the export function in-process instead of through Lambda."""
    global _local_launcher
    with _launcher_lock:
        _local_launcher = launch


def launch(export_id: str, function_name: str) -> None:
    """Start a runner for the job: an asynchronous invoke of the export function (Lambda retries a
    failed one twice; a job still stalled after that is launched again by its status poll)."""
    with _launcher_lock:
        local = _local_launcher
    if local is not None:
        local(export_id)
        return
    if not function_name:
        raise RuntimeError("no export function is configured (EXPORT_FUNCTION_NAME)")
    lambda_client: Any = botocore.session.get_session().create_client("lambda")
    lambda_client.invoke(FunctionName=function_name, InvocationType="Event",
                         Payload=json.dumps({"export_id": export_id}).encode())  # fmt: skip
