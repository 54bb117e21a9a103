"""The CLI's progress bar and the CSV cells (pure)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from leadrelay.export import neutralise, to_csv
from leadrelay.local.progress import ProgressBar
from leadrelay.models import Lead


def test_the_bar_fills_with_the_rows_done_and_redraws_in_place() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "importing", enabled=True)
    bar.update(50, 200)
    bar.update(200, 200)
    bar.finish()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("200/200 rows\n")
    assert bar.line(50, 200) == "importing [########......................] 50/200 rows"
    assert bar.line(1234, None) == "importing 1,234 rows"


def test_a_bar_on_a_pipe_stays_silent() -> None:
    stream = io.StringIO()  # not a terminal
    bar = ProgressBar(stream, "exporting")
    bar.update(10)
    bar.finish()
    assert stream.getvalue() == ""


def test_cells_that_a_spreadsheet_would_run_are_made_text() -> None:
    assert [neutralise(c) for c in ("=1+1", "+91", "-2", "@A1", "\tx", "safe")] == [
        "'=1+1", "'+91", "'-2", "'@A1", "'\tx", "safe"]  # fmt: skip


def test_a_lead_row_keeps_its_script_and_money_as_whole_rupees() -> None:
    lead = Lead(lead_id="L1", source_id="web", source_kind="generic", received_at=datetime(2026, 11, 23, 12, 35, tzinfo=UTC),
                name="ஆஷா", phone="+919876543210", budget=Decimal("7500000"), tags=["a", "b"])  # fmt: skip
    text = to_csv([lead], date_format="indian")
    assert text.startswith("\ufefflead_id,received_at")
    assert "L1,23-11-2026 18:05,new,web,ஆஷா,'+919876543210" in text and ",7500000," in text and '"a, b"' in text
