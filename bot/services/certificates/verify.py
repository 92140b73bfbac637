"""/verify's guard: numbers that match no certificate, counted per person.

Guessing is slow by the numbers' 80 random bits; this keeps the old 20-bit numbers (still
valid) from being walked one by one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

VERIFY_MISSES = 20
VERIFY_WINDOW = timedelta(hours=1)
FORGET_BEYOND = 10_000  # people tracked before those whose misses are all old are forgotten


class VerifyMisses:
    """Per person, the times of their numbers that matched nothing within VERIFY_WINDOW."""

    def __init__(self) -> None:
        self._table: dict[int, list[datetime]] = {}

    def _recent(self, who: int, now: datetime) -> list[datetime]:
        since = now - VERIFY_WINDOW
        if len(self._table) > FORGET_BEYOND:
            for key in [k for k, times in self._table.items() if times[-1] < since]:
                del self._table[key]
        times = self._table.setdefault(who, [])
        times[:] = [t for t in times if t >= since]
        return times

    def too_many(self, who: int, now: datetime) -> bool:
        return len(self._recent(who, now)) >= VERIFY_MISSES

    def record(self, who: int, now: datetime) -> None:
        self._recent(who, now).append(now)

    def __len__(self) -> int:
        return len(self._table)
