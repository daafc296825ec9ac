"""A one-line progress bar on stderr, shown only when stderr is a terminal (shared by the stages)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
REDRAW_INTERVAL_S = 0.1  # enough for the eye; a thousand fast results must not cost a thousand writes


class ProgressBar:
    def __init__(self, label: str, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = enabled and total > 0 and self._stream.isatty()
        self._label = label
        self._total = total
        self._done = 0
        self._last = 0.0
        self._draw("")

    def advance(self, note: str = "") -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._last >= REDRAW_INTERVAL_S or self._done == self._total:
            self._last = now
            self._draw(note)

    def _draw(self, note: str) -> None:
        if not self._enabled:
            return
        filled = BAR_WIDTH * self._done // self._total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {self._done}/{self._total}{'  ' + note if note else ''}")
        self._stream.flush()

    def close(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()
