"""Controlled clocks for SLA tests (the Clock protocol of core.sla.clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


@dataclass
class ManualClock:
    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


@dataclass
class FileClock:
    """Reads the time from a file, so a test can move the clock of another process."""

    path: Path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())

    def set(self, moment: datetime) -> None:
        temp = self.path.with_suffix(".tmp")
        temp.write_text(moment.isoformat())
        temp.replace(self.path)  # a reader never sees half a timestamp
