"""Periods in Asia/Almaty and scopes (country, region, district); the message-id marker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.errors import DomainError
from bot.services.numbers import as_int, check_digits

logger = logging.getLogger(__name__)
Translate = Callable[[str], str]
MAX_PERIOD_DAYS = 366 * 3


def _(msgid: str) -> str:
    """Marks a message id for extraction; it is translated when rendered (`tr`)."""
    return msgid


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Whole local days [first_day, last_day]; `start`/`end` are the UTC instants (end excl.)."""

    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(),
                                self.tz).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first_day - timedelta(days=self.days),
                      self.first_day - timedelta(days=1), self.tz)

    def label(self) -> str:
        return f"{self.first_day:%d.%m.%Y} – {self.last_day:%d.%m.%Y}"


def week_of(day: date, tz: ZoneInfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), tz)


def parse_period(arg: str | None, now: datetime, tz: ZoneInfo,
                 default: str = "week") -> Period:
    """'week' | 'month' | 'year' | 'YYYY' | 'YYYY-MM-DD YYYY-MM-DD' (both days included)."""
    check_digits(arg)  # "٢٠٢٦" is no year here (fromisoformat and \d would read it)
    today = now.astimezone(tz).date()
    words = (arg or default).strip().lower().split()
    if len(words) == 1 and words[0] in ("week", "month", "year"):
        kind = words[0]
        if kind == "week":
            return week_of(today, tz)
        if kind == "month":
            first = today.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            return Period(first, nxt - timedelta(days=1), tz)
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), tz)
    if len(words) == 1 and (year := as_int(words[0], max_digits=4)) is not None:
        if not 2000 <= year <= 2100:
            raise DomainError("stats_period")
        return Period(date(year, 1, 1), date(year, 12, 31), tz)
    if len(words) == 2:
        try:
            first, last = (date.fromisoformat(w) for w in words)
        except ValueError:
            raise DomainError("stats_period") from None
        if last < first:
            raise DomainError("stats_dates_order")
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise DomainError("stats_period_long", days=MAX_PERIOD_DAYS)
        return Period(first, last, tz)
    raise DomainError("stats_period")


# ---------------------------------------------------------------- scopes


@dataclass(frozen=True)
class Scope:
    """Whole country (staff), one region (regional coordinator) or one district."""

    region_id: int | None = None
    district_id: int | None = None

    @property
    def is_country(self) -> bool:
        return self.region_id is None and self.district_id is None

    @property
    def area(self) -> str:
        """What the by-area table lists: regions for the country, districts otherwise."""
        return "region" if self.is_country else "district"

    def filters(self, region_col: Any, district_col: Any) -> list[Any]:
        out = []
        if self.district_id is not None:
            out.append(district_col == self.district_id)
        elif self.region_id is not None:
            out.append(region_col == self.region_id)
        return out


def scope_of(role: str, user: Any) -> Scope:
    """The scope a user may see: staff everything, coordinators their region or district.

    `role` is the access role (staff ids from the settings count as staff)."""
    if role == "staff":
        return Scope()
    if role == "coordinator" and user is not None and user.status == "active":
        if user.coordinator_level == "district" and user.district_id:
            return Scope(user.region_id, user.district_id)
        if user.region_id:
            return Scope(user.region_id)
    raise DomainError("stats_scope")
