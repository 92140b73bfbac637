"""The console's clock: the bot's own time (App.clock) moved forward or set, so reminders,
deadlines and the weekly digest can be seen without waiting.

A jump is walked in stops (every moment something is due, and at least hourly), running the
ticks at each, as the scheduler would have: a webinar's 24 h, 1 h and 10 min reminders each
come at their own time, not all at once at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from db.base import utcnow
from db.models import Broadcast, Challenge, Webinar, WebinarReminder

STEP = re.compile(r"(\d+)([wdhm])")
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d", "%d.%m.%Y")
LONG_JUMP = timedelta(days=14)  # beyond it the walk stops daily, not hourly,
VERY_LONG_JUMP = timedelta(days=200)  # and beyond this weekly (digests may be skipped)


class ShiftedClock:
    """Real time plus an offset: time keeps running after a move."""

    def __init__(self, real: Callable[[], datetime] = utcnow) -> None:
        self.real, self.offset = real, timedelta(0)

    def __call__(self) -> datetime:
        return self.real() + self.offset

    def set(self, moment: datetime) -> None:
        self.offset = moment - self.real()


def parse_target(arg: str, now: datetime, tz: Any) -> datetime | None:
    """`+2d`, `+1d12h`, `-3h`, `+1w`, `+30m`; or a local date and time (`2026-03-12 09:00`,
    `12.03.2026 09:00`, a date alone is 00:00); `now` is real time. None: not understood."""
    arg = arg.strip()
    if arg in ("now", "real"):
        return utcnow()
    if arg[:1] in "+-" and arg[1:] and STEP.sub("", arg[1:]) == "":
        delta = sum((timedelta(**{UNITS[u]: int(n)}) for n, u in STEP.findall(arg[1:])),
                    timedelta(0))
        return now + (delta if arg[0] == "+" else -delta)
    for fmt in FORMATS:
        try:
            return datetime.strptime(arg, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


async def stops(sessionmaker: Any, start: datetime, end: datetime) -> list[datetime]:
    """The moments between start (excluded) and end (included) at which the ticks run."""
    if end <= start:
        return [end]
    span = end - start
    step = (timedelta(hours=1) if span <= LONG_JUMP else
            timedelta(days=1) if span <= VERY_LONG_JUMP else timedelta(weeks=1))
    moments = {start + step * n for n in range(1, int((end - start) / step) + 1)}
    async with sessionmaker() as session:
        for column in (WebinarReminder.due_at, Webinar.starts_at, Challenge.starts_at,
                       Challenge.deadline_at, Broadcast.scheduled_at):
            moments.update(await session.scalars(
                select(column).where(column > start, column <= end)))
    moments.add(end)
    return sorted(m for m in moments if start < m <= end)
