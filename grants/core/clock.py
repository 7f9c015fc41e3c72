"""The one clock. Everything time-dependent (auto-close, alerts) asks it, so tests can move
time by replacing `source` instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime


def source() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    return source()


class travel:  # noqa: N801 (used like a function: `with clock.travel(moment):`)
    """Make `now()` return a fixed instant inside the block (tests and demo data)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __enter__(self):
        global source
        self._saved = source
        source = lambda: self.moment  # noqa: E731
        return self

    def __exit__(self, *exc):
        global source
        source = self._saved

    def to(self, moment: datetime) -> None:
        self.moment = moment
