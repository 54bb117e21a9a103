"""The `by_received` index: which list an item is on (`list_pk`) and its place in it (`list_sk`).

Leads, quarantined and ignored requests, pending fetches and overrides each have their list,
read newest first by received time.
"""

from __future__ import annotations

from datetime import datetime

from leadrelay.clock import iso

LIST_LEADS = "LEAD"
LIST_QUARANTINE = "QUARANTINE"
LIST_IGNORED = "IGNORED"
LIST_OVERRIDES = "OVERRIDE"


def list_sk(received_at: datetime, item_id: str) -> str:
    return f"{iso(received_at)}#{item_id}"
