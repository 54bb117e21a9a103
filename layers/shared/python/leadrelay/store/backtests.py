"""Back-test runs kept for a while, so a change a back-test proved can be enabled by naming the
run (docs/routing.md#performance-weighting). Org table: `BACKTEST` / `RUN#<id>`, expiring after
`KEEP_DAYS` (TTL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay.store.dynamo import client, from_item, to_item

KEEP_DAYS = 30
PK = "BACKTEST"


class BacktestRuns:
    def __init__(self, org_table: str) -> None:
        self.table = org_table

    def save(self, run_id: str, at: datetime, by: str, pools: dict[str, Any]) -> None:
        """`pools`: per pool id, what the run replayed for it and what it showed (JSON-ready)."""
        item = {"pk": PK, "sk": f"RUN#{run_id}", "run_id": run_id, "at": at, "by": by, "pools": pools,
                "expires_at": int((at + timedelta(days=KEEP_DAYS)).timestamp())}  # fmt: skip
        client().put_item(TableName=self.table, Item=to_item(item))

    def get(self, run_id: str) -> dict[str, Any] | None:
        item = client().get_item(TableName=self.table, Key=to_item({"pk": PK, "sk": f"RUN#{run_id}"}),
                                 ConsistentRead=True).get("Item")  # fmt: skip
        return from_item(item) if item else None
