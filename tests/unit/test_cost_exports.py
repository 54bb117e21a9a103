"""The cost model prices large exports: the export function, S3 requests, storage for the
retention days and the download's transfer out, growing with the leads exported."""

from __future__ import annotations

from bench import cost
from leadrelay.definitions import EXPORTS

PER_LEAD = {"write_units": 22.0, "read_units": 2.0, "handler_cpu_ms": {"ingest": 5.0, "route": 8.0},
            "aws_calls": {"ingest": 2.0, "route": 2.0}, "events": 0.0, "log_bytes": 1500}  # fmt: skip
METRICS = {"count": 0, "names_built_from_values": []}


def _line(leads: int) -> float:
    bill = cost.monthly(10, leads, cost.TemplateFacts(stage="dev"), PER_LEAD, METRICS, memory_mb={"export": 512})
    return bill["lines_usd"]["Large exports (export λ, S3, transfer)"]


def test_large_exports_are_a_line_of_the_bill_that_grows_with_the_leads_exported():
    # Given the model's assumptions match the deployed settings
    assert EXPORTS.retention_days == cost.EXPORT_RETENTION_DAYS
    # When 3,000 and 300,000 leads a month are exported every working day
    small, large = _line(3_000), _line(300_000)
    # Then the line is there, small at the default volume, and grows about linearly
    assert 0 < small < 0.05
    assert 50 < large / small < 150
    # And transfer out dominates: 22 downloads of 300,000 × 341 bytes at $0.1093/GB
    assert large > 22 * 300_000 * 341 / 1e9 * 0.1093
