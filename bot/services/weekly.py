"""Coordinators' weekly reports of the offline week (issue 17): what they held in their area
(events, people reached, a note), and the totals /stats, the digest and /report show next
to what the bot counted itself.

- The week is Monday to Sunday in Asia/Almaty, stored as its Monday. One report per
  coordinator per week: filing again updates it (the area is copied each time).
- Only active coordinators file (bot.access lets only the coordinator role run /week;
  `file_report` checks the status again).
- A period's offline numbers are the reports of the weeks whose Monday lies in the period,
  in the scope by the area copied at filing. "Filed N of M": the distinct coordinators who
  filed at least one of those reports, of the active coordinators of the scope registered
  before the period's end.

No aiogram here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from db.base import utcnow
from db.models import User, WeeklyReport

# Sane maxima for one coordinator's week: a typo (an extra zero, a phone number) is refused
# rather than spoiling the country's totals.
MAX_EVENTS = 200
MAX_PEOPLE = 50_000
NOTE_MAX = 500
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# bot.services.stats's Period and Scope (stats imports this module, so not the other way).
Period = Any
Scope = Any


def week_monday(now: datetime, tz: ZoneInfo) -> date:
    """The Monday (local date) of the week `now` lies in."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=today.weekday())


def week_end(week: date, tz: ZoneInfo) -> datetime:
    """The instant the week of Monday `week` ends (the next Monday 00:00 local)."""
    return datetime.combine(week + timedelta(days=7), time(), tz)


def parse_count(text: str | None, maximum: int) -> int:
    """A non-negative whole number up to `maximum`, typed in ASCII digits."""
    value = typed_int(text, max_digits=9)  # other digit signs: DomainError("digits_only")
    if value is None:
        raise DomainError("week_number", max=maximum)
    if value > maximum:
        raise DomainError("week_too_many", max=maximum)
    return value


def clean_note(text: str | None) -> str | None:
    """The note as typed, trimmed; too long is refused (not cut: nothing typed is lost
    silently)."""
    note = (text or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError("week_note_long", max=NOTE_MAX, n=len(note))
    return note or None


@dataclass(frozen=True)
class Filed:
    report: WeeklyReport
    updated: bool  # the week had been filed before


async def get_report(session: AsyncSession, user_id: int, week: date) -> WeeklyReport | None:
    return await session.scalar(select(WeeklyReport).where(
        WeeklyReport.coordinator_id == user_id, WeeklyReport.week == week))


async def file_report(session: AsyncSession, user_id: int, week: date, events: int,
                      people: int, note: str | None) -> Filed:
    """Store the week's report, or update the one filed before (same coordinator, week)."""
    user = await session.get(User, user_id)
    if user is None or user.role != "coordinator" or user.status != "active":
        raise DomainError("week_not_coordinator")
    report = await get_report(session, user_id, week)
    updated = report is not None
    if report is None:
        report = WeeklyReport(coordinator_id=user_id, week=week)
        session.add(report)
    report.region_id, report.district_id = user.region_id, _district(user)
    report.events_held, report.people_reached, report.note = events, people, note
    report.updated_at = utcnow()
    await session.flush()
    return Filed(report, updated)


def _district(user: User) -> int | None:
    """A regional coordinator reports for the region, whatever district is in the profile."""
    return user.district_id if user.coordinator_level == "district" else None


# ---------------------------------------------------------------- totals


@dataclass
class Offline:
    """A period's offline numbers in a scope."""

    events: int = 0
    people: int = 0
    filed: int = 0  # coordinators who filed at least one report
    coordinators: int = 0  # active coordinators of the scope


def _weeks(period: Period) -> list[Any]:
    r = WeeklyReport
    return [r.week >= period.first_day, r.week <= period.last_day]


async def offline(session: AsyncSession, period: Period, scope: Scope) -> Offline:
    r = WeeklyReport
    events, people, filed = (await session.execute(
        select(func.coalesce(func.sum(r.events_held), 0),
               func.coalesce(func.sum(r.people_reached), 0),
               func.count(distinct(r.coordinator_id)))
        .where(*_weeks(period), *scope.filters(r.region_id, r.district_id)))).one()
    coordinators = await session.scalar(
        select(func.count()).select_from(User).where(
            User.role == "coordinator", User.status == "active",
            User.created_at < period.end, *scope.filters(User.region_id, User.district_id)))
    return Offline(int(events), int(people), int(filed), int(coordinators or 0))


async def offline_by_region(session: AsyncSession, period: Period,
                            ) -> dict[int | None, Offline]:
    """{region id or None: reports' events, people, coordinators who filed} for /report."""
    r = WeeklyReport
    rows = await session.execute(
        select(r.region_id, func.sum(r.events_held), func.sum(r.people_reached),
               func.count(distinct(r.coordinator_id)))
        .where(*_weeks(period)).group_by(r.region_id))
    return {region: Offline(int(e or 0), int(p or 0), int(n)) for region, e, p, n in rows}


async def report_rows(session: AsyncSession, period: Period, scope: Scope) -> list[Any]:
    """Every report of the period in the scope (the XLSX sheet), by week and area."""
    r = WeeklyReport
    return list((await session.execute(
        select(r.week, r.region_id, r.district_id, User.full_name, r.events_held,
               r.people_reached, r.note, r.updated_at)
        .join(User, User.id == r.coordinator_id)
        .where(*_weeks(period), *scope.filters(r.region_id, r.district_id))
        .order_by(r.week, r.region_id, r.district_id, r.id))).all())


# ---------------------------------------------------------------- the reminder


def reminder_time(setting: str, week: date, tz: ZoneInfo) -> datetime | None:
    """When this week's reminder is due ("fri 16:00" → that Friday 16:00 local), None when
    the setting is "off"."""
    if setting == "off":
        return None
    day, hhmm = setting.split()
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime.combine(week + timedelta(days=DAYS.index(day)), time(hours, minutes), tz)


def not_filed(week: date) -> Select[Any]:
    """select(user id, chat id, locale) of active coordinators with a chat who have not
    filed the report of `week`: the delivery queue copies it in one INSERT … SELECT."""
    r = WeeklyReport
    return select(User.id, User.chat_id, User.locale).where(
        User.role == "coordinator", User.status == "active", User.chat_id.is_not(None),
        User.blocked_bot.is_(False),
        ~exists().where(and_(r.coordinator_id == User.id, r.week == week)))
