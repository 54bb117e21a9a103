"""A one-line progress bar on a terminal (`leadrelay export`, `leadrelay import`): redrawn in place
with a carriage return, and silent when the stream is not a terminal (a pipe, a log, a test), so
the command's real output stays clean."""

from __future__ import annotations

from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, label: str, *, enabled: bool | None = None) -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty() if enabled is None else enabled
        self._drawn = False

    def line(self, done: int, total: int | None) -> str:
        """The bar as text: `label [######........] 120/500 rows`, or `label 120 rows` with no total."""
        if not total:
            return f"{self.label} {done:,} rows"
        filled = min(WIDTH, round(WIDTH * done / total))
        return f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done:,}/{total:,} rows"

    def update(self, done: int, total: int | None = None) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line(done, total))
            self.stream.flush()
            self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
