"""Webinars: the rules for creating, registering, attending, moving, cancelling and reminding.

Channel-agnostic (no aiogram). Times are aware UTC; `now` is always passed in so tests and the
scheduler control time. Domain errors carry codes that handlers/webinars.py turns into text.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.guardian import as_seen_by_others
from bot.services.numbers import check_digits, typed_int
from db.models import Delivery, User, Webinar, WebinarRegistration, WebinarReminder

logger = logging.getLogger(__name__)

DEFAULT_OFFSETS = (24 * 60, 60, 0)
ATTEND_BEFORE = timedelta(minutes=15)
ATTEND_AFTER = timedelta(minutes=30)
# A reminder processed this long after its due time is still "on time" even if the webinar
# has started (the at-start reminder is due exactly at the start).
LATE_GRACE = timedelta(minutes=10)
MAX_AHEAD = timedelta(days=2 * 365)
AUDIENCE_KEYS = ("roles", "org_types", "factions", "positions", "regions")
REMINDER_SOURCE = "webinar_reminder"

TITLE_LEN = (3, 200)
DESCRIPTION_LEN = (1, 3000)
DURATION_MIN = (5, 24 * 60)
CAPACITY_RANGE = (1, 1_000_000)
MAX_SPEAKERS = 30
MAX_OFFSET = 30 * 24 * 60

_DT_FORMATS = ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%y %H:%M", "%d/%m/%Y %H:%M")


class Member(Protocol):
    id: int
    role: str
    region_id: int | None
    district_id: int | None
    org_type: str | None
    faction: str | None
    position: str | None


# --- parsing what staff type ------------------------------------------------------------

def check_text(value: str | None, code: str, bounds: tuple[int, int]) -> str:
    text = (value or "").strip()
    if not bounds[0] <= len(text) <= bounds[1]:
        raise DomainError(code, min=bounds[0], max=bounds[1])
    return text


def parse_local_datetime(value: str | None, tz: tzinfo, now: datetime) -> datetime:
    """`12.03.2026 15:00` or `2026-03-12 15:00` in `tz` → aware UTC; future only."""
    check_digits(value)  # strptime reads every script's digits
    text = re.sub(r"\s+", " ", (value or "").replace(",", " ").replace("T", " ")).strip()
    text = re.sub(r"([0-9]{1,2})[.:]([0-9]{2})$", r"\1:\2", text) if " " in text else text
    for fmt in _DT_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise DomainError("wb_date_format")
    moment = naive.replace(tzinfo=tz).astimezone(now.tzinfo)
    if moment <= now:
        raise DomainError("wb_date_past")
    if moment - now > MAX_AHEAD:
        raise DomainError("wb_date_far")
    return moment


def parse_duration(value: str | None) -> int:
    """Minutes: `90`, `1:30`, `1h30m`, `2h`, `45m` / `45 мин` / `1,5 ч`."""
    check_digits(value)
    text = (value or "").strip().lower().replace(",", ".")
    minutes: float | None = None
    if (m := re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text)) and int(m[2]) < 60:  # not 1:75
        minutes = int(m[1]) * 60 + int(m[2])
    elif m := re.fullmatch(r"([0-9]{1,6}(?:\.[0-9]{1,6})?)", text):
        minutes = float(m[1])
    elif (m := re.fullmatch(r"(?:([0-9]{1,6}(?:\.[0-9]{1,6})?)\s*(?:h|ч|час\w*|сағ\w*))?\s*"
                            r"(?:([0-9]{1,6})\s*(?:m|min|мин\w*))?", text)) and (m[1] or m[2]):
        minutes = float(m[1] or 0) * 60 + int(m[2] or 0)
    if minutes is None or not DURATION_MIN[0] <= minutes <= DURATION_MIN[1]:
        raise DomainError("wb_duration", min=DURATION_MIN[0], max=DURATION_MIN[1])
    return int(minutes)


def parse_url(value: str | None) -> str:
    text = (value or "").strip()
    parts = urlsplit(text)
    host = parts.hostname or ""
    if (parts.scheme != "https" or "." not in host or " " in text
            or len(text) > 500 or host.startswith(".") or host.endswith(".")):
        raise DomainError("wb_url")
    return text


def parse_speakers(value: str | None) -> list[str]:
    text = (value or "").strip()
    if text in ("-", "—", ""):
        return []
    names = [n.strip() for n in re.split(r"[\n;,]+", text) if n.strip()]
    if len(names) > MAX_SPEAKERS or any(len(n) > 120 for n in names):
        raise DomainError("wb_speakers", max=MAX_SPEAKERS)
    return names


def parse_capacity(value: str | None) -> int | None:
    text = (value or "").strip().replace(" ", "")
    if text in ("-", "—"):  # "No limit" typed; "0" is a typo or "closed", never "unlimited"
        return None
    low, high = CAPACITY_RANGE
    number = typed_int(text)
    if number is None or not low <= number <= high:
        raise DomainError("wb_capacity")
    return number


def parse_offsets(value: str | None) -> list[int]:
    """`24h, 1h, 0` / `1d 30m` / `90` (minutes) → sorted minutes, largest first."""
    check_digits(value)
    items = [p for p in re.split(r"[\s,;]+", (value or "").strip().lower()) if p]
    if not items:
        raise DomainError("wb_offsets")
    units = {"d": 1440, "д": 1440, "к": 1440, "h": 60, "ч": 60, "с": 60, "m": 1, "м": 1, "": 1}
    result: set[int] = set()
    for item in items:
        m = re.fullmatch(r"([0-9]{1,6}(?:\.[0-9]{1,6})?)([a-zа-яәіңғүұқөһ]*)", item)
        unit = units.get(m[2][:1]) if m else None
        if m is None or unit is None:
            raise DomainError("wb_offsets")
        minutes = round(float(m[1]) * unit)
        if minutes > MAX_OFFSET:
            raise DomainError("wb_offsets")
        result.add(minutes)
    return sorted(result, reverse=True)


# --- audience ---------------------------------------------------------------------------

def clean_audience(audience: dict[str, Any] | None) -> dict[str, list]:
    return {k: list(v) for k, v in (audience or {}).items() if k in AUDIENCE_KEYS and v}


def audience_matches(audience: dict[str, Any] | None, user: Member) -> bool:
    aud = clean_audience(audience)
    if user.role == "staff":
        return True
    checks = (("roles", user.role), ("org_types", user.org_type), ("factions", user.faction),
              ("positions", user.position), ("regions", user.region_id))
    return all(key not in aud or value in aud[key] for key, value in checks)


def _audience_filter(audience: dict[str, Any] | None) -> list[Any]:
    aud = clean_audience(audience)
    columns = {"roles": User.role, "org_types": User.org_type, "factions": User.faction,
               "positions": User.position, "regions": User.region_id}
    conds = [columns[k].in_(v) for k, v in aud.items()]
    return [and_(*conds)] if conds else []


def audience_contacts(audience: dict[str, Any] | None) -> Select[Any]:
    """select(user id, chat id, locale) of the active people a webinar is for."""
    return select(User.id, User.chat_id, User.locale).where(
        User.status == "active", User.chat_id.is_not(None), User.blocked_bot.is_(False),
        *_audience_filter(audience))


# --- webinars ---------------------------------------------------------------------------

def window(webinar: Webinar) -> tuple[datetime, datetime]:
    """When "I'm here" is accepted: start − 15 min … end + 30 min."""
    end = webinar.starts_at + timedelta(minutes=webinar.duration_min)
    return webinar.starts_at - ATTEND_BEFORE, end + ATTEND_AFTER


def ends_at(webinar: Webinar) -> datetime:
    return webinar.starts_at + timedelta(minutes=webinar.duration_min)


def in_window(webinar: Webinar, now: datetime) -> bool:
    opens, closes = window(webinar)
    return opens <= now <= closes


async def create_webinar(session: AsyncSession, data: dict[str, Any], creator: Member | None,
                         now: datetime) -> Webinar:
    """Publish a webinar from the wizard's answers and plan its reminders."""
    starts_at = datetime.fromisoformat(data["starts_at"])
    if starts_at <= now:
        raise DomainError("wb_date_past")
    webinar = Webinar(
        title_kk=data["title_kk"], title_ru=data["title_ru"], title_en=data.get("title_en"),
        description_kk=data["description_kk"], description_ru=data["description_ru"],
        description_en=data.get("description_en"), starts_at=starts_at,
        duration_min=int(data["duration_min"]), join_url=data["join_url"],
        speakers=list(data.get("speakers") or []),
        audience=clean_audience(data.get("audience")), capacity=data.get("capacity"),
        reminder_offsets=list(data.get("reminder_offsets") or DEFAULT_OFFSETS),
        status="published", sequence=0, created_by=creator.id if creator else None,
        created_at=now, updated_at=now,
    )
    session.add(webinar)
    await session.flush()
    await plan_reminders(session, webinar, now)
    await log_activity(session, "webinar_published", creator, "webinar", webinar.id)
    return webinar


async def plan_reminders(session: AsyncSession, webinar: Webinar, now: datetime) -> None:
    """One row per offset; a future due time is (re)armed, a passed pending one is skipped."""
    existing = {r.offset_min: r for r in await session.scalars(
        select(WebinarReminder).where(WebinarReminder.webinar_id == webinar.id))}
    for offset in webinar.reminder_offsets:
        due = webinar.starts_at - timedelta(minutes=offset)
        row = existing.pop(offset, None)
        if row is None:
            row = WebinarReminder(webinar_id=webinar.id, offset_min=offset, due_at=due,
                                  status="pending" if due > now else "skipped")
            session.add(row)
            continue
        if row.due_at == due:
            continue
        row.due_at = due
        if due > now:
            row.status, row.processed_at, row.recipients = "pending", None, None
        elif row.status == "pending":
            row.status, row.processed_at = "skipped", now
    for row in existing.values():  # offsets no longer wanted
        if row.status == "pending":
            row.status = "cancelled"
    await session.flush()


async def get_webinar(session: AsyncSession, webinar_id: int) -> Webinar:
    webinar = await session.get(Webinar, webinar_id)
    if webinar is None:
        raise DomainError("not_found")
    return webinar


async def upcoming(session: AsyncSession, user: Member, now: datetime,
                   limit: int = 30) -> list[Webinar]:
    """Published webinars not yet over that this user may attend, soonest first."""
    rows = await session.scalars(
        select(Webinar).where(Webinar.status == "published",
                              Webinar.starts_at > now - timedelta(days=1))
        .order_by(Webinar.starts_at, Webinar.id))
    found = [w for w in rows
             if ends_at(w) + ATTEND_AFTER > now and audience_matches(w.audience, user)]
    return found[:limit]


async def registration_of(session: AsyncSession, webinar_id: int,
                          user_id: int) -> WebinarRegistration | None:
    return await session.scalar(select(WebinarRegistration).where(
        WebinarRegistration.webinar_id == webinar_id, WebinarRegistration.user_id == user_id))


async def registered_count(session: AsyncSession, webinar_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(WebinarRegistration).where(
        WebinarRegistration.webinar_id == webinar_id,
        WebinarRegistration.status == "registered")) or 0


def _check_open(webinar: Webinar, user: Member, now: datetime) -> None:
    if webinar.status == "cancelled":
        raise DomainError("wb_cancelled")
    if ends_at(webinar) <= now:
        raise DomainError("wb_over")
    if not audience_matches(webinar.audience, user):
        raise DomainError("wb_not_for_you")


async def register(session: AsyncSession, webinar: Webinar, user: Member, now: datetime) -> bool:
    """True when newly registered, False when already registered (harmless)."""
    _check_open(webinar, user, now)
    reg = await registration_of(session, webinar.id, user.id)
    if reg is not None and reg.status == "registered":
        return False
    if webinar.capacity is not None and \
            await registered_count(session, webinar.id) >= webinar.capacity:
        raise DomainError("wb_full")
    if reg is None:
        session.add(WebinarRegistration(webinar_id=webinar.id, user_id=user.id,
                                        status="registered", registered_at=now))
    else:
        reg.status, reg.registered_at = "registered", now
    await session.flush()
    await log_activity(session, "webinar_register", user, "webinar", webinar.id)
    return True


async def unregister(session: AsyncSession, webinar: Webinar, user: Member, now: datetime) -> bool:
    reg = await registration_of(session, webinar.id, user.id)
    if reg is None or reg.status != "registered":
        return False
    reg.status = "cancelled"
    await session.flush()
    await log_activity(session, "webinar_unregister", user, "webinar", webinar.id)
    return True


async def attend(session: AsyncSession, webinar: Webinar, user: Member, now: datetime) -> bool:
    """Record "I'm here"; True when new. Only registrants, only inside the window."""
    if webinar.status == "cancelled":
        raise DomainError("wb_cancelled")
    if not in_window(webinar, now):
        opens, _closes = window(webinar)
        raise DomainError("wb_not_yet" if now < opens else "wb_attend_closed")
    reg = await registration_of(session, webinar.id, user.id)
    if reg is None or reg.status != "registered":
        raise DomainError("wb_not_registered")
    if reg.attended_at is not None:
        return False
    reg.attended_at = now
    await session.flush()
    await log_activity(session, "webinar_attend", user, "webinar", webinar.id)
    return True


async def change_time(session: AsyncSession, webinar: Webinar, starts_at: datetime,
                      now: datetime) -> bool:
    """Move the webinar; pending reminders move with it. True when the time really changed."""
    if webinar.status == "cancelled":
        raise DomainError("wb_cancelled")
    if starts_at == webinar.starts_at:
        return False
    webinar.starts_at = starts_at
    webinar.sequence += 1
    webinar.updated_at = now
    await plan_reminders(session, webinar, now)
    return True


async def update_field(session: AsyncSession, webinar: Webinar, field: str, value: Any,
                       now: datetime) -> None:
    """Other edits (duration, link, capacity, texts, offsets)."""
    if webinar.status == "cancelled":
        raise DomainError("wb_cancelled")
    if field not in ("duration_min", "join_url", "capacity", "reminder_offsets", "title_kk",
                     "title_ru", "title_en", "description_kk", "description_ru",
                     "description_en", "speakers"):
        raise DomainError("bad_field")
    if field == "capacity" and value is not None:
        registered = await registered_count(session, webinar.id)
        if value < registered:  # nobody loses a seat they were given
            raise DomainError("wb_capacity_below", n=registered)
    setattr(webinar, field, value)
    webinar.sequence += 1
    webinar.updated_at = now
    if field == "reminder_offsets":
        await plan_reminders(session, webinar, now)
    await session.flush()


async def cancel_webinar(session: AsyncSession, webinar: Webinar, actor: Member | None,
                         now: datetime) -> bool:
    if webinar.status == "cancelled":
        return False
    webinar.status = "cancelled"
    webinar.sequence += 1
    webinar.updated_at = now
    await session.execute(update(WebinarReminder).where(
        WebinarReminder.webinar_id == webinar.id, WebinarReminder.status == "pending")
        .values(status="cancelled", processed_at=now))
    # reminders already queued but not yet sent must not go out any more
    await session.execute(update(Delivery).where(
        Delivery.source_type == REMINDER_SOURCE, Delivery.source_id == webinar.id,
        Delivery.status == "queued").values(status="cancelled"))
    await log_activity(session, "webinar_cancelled", actor, "webinar", webinar.id)
    return True


# --- registrants ------------------------------------------------------------------------

async def registrants(session: AsyncSession, webinar_id: int,
                      before: datetime | None = None) -> list[tuple[User, WebinarRegistration]]:
    """Active registrants (optionally only those registered by `before`), oldest first."""
    query = (select(User, WebinarRegistration)
             .join(WebinarRegistration, WebinarRegistration.user_id == User.id)
             .where(WebinarRegistration.webinar_id == webinar_id,
                    WebinarRegistration.status == "registered", User.status != "erased")
             .order_by(WebinarRegistration.registered_at, WebinarRegistration.id))
    if before is not None:
        query = query.where(WebinarRegistration.registered_at <= before)
    return [(u, r) for u, r in (await session.execute(query)).all()]


def registrant_contacts(webinar_id: int, before: datetime | None = None) -> Select[Any]:
    """select(user id, chat id, locale) of active registrants with a chat (registered by
    `before`): the delivery queue copies it in one INSERT … SELECT."""
    query = (select(User.id, User.chat_id, User.locale)
             .join(WebinarRegistration, WebinarRegistration.user_id == User.id)
             .where(WebinarRegistration.webinar_id == webinar_id,
                    WebinarRegistration.status == "registered", User.status == "active",
                    User.chat_id.is_not(None)))
    if before is not None:
        query = query.where(WebinarRegistration.registered_at <= before)
    return query


def registrant_ids_select(webinar_id: int) -> Select[Any]:
    """select(user id) of a webinar's registrants (the broadcasts audience provider)."""
    return select(WebinarRegistration.user_id).where(
        WebinarRegistration.webinar_id == webinar_id,
        WebinarRegistration.status == "registered")


async def recent_webinars(session: AsyncSession, limit: int = 10) -> list[Webinar]:
    """The latest published webinars by start time, newest first."""
    rows = await session.scalars(select(Webinar).where(Webinar.status == "published")
                                 .order_by(Webinar.starts_at.desc(), Webinar.id.desc())
                                 .limit(limit))
    return list(rows)


async def webinar_registrant_ids(session: AsyncSession, webinar_id: int) -> list[int]:
    """User ids of a webinar's registrants (an audience for broadcasts)."""
    return list(await session.scalars(registrant_ids_select(webinar_id)))


@dataclass
class RegistrantStats:
    registered: int
    attended: int
    by_region: list[tuple[int | None, int, int]]  # region id, registered, attended


def registrant_stats(rows: list[tuple[User, WebinarRegistration]]) -> RegistrantStats:
    reg: Counter[int | None] = Counter()
    att: Counter[int | None] = Counter()
    for user, registration in rows:
        reg[user.region_id] += 1
        if registration.attended_at is not None:
            att[user.region_id] += 1
    by_region = sorted(((r, n, att[r]) for r, n in reg.items()), key=lambda x: (-x[1], x[0] or 0))
    return RegistrantStats(sum(reg.values()), sum(att.values()), by_region)


async def my_webinars(session: AsyncSession, user_id: int,
                      now: datetime) -> list[tuple[Webinar, WebinarRegistration]]:
    """The user's registrations: upcoming first (soonest first), then the last past ones."""
    rows = (await session.execute(
        select(Webinar, WebinarRegistration)
        .join(WebinarRegistration, WebinarRegistration.webinar_id == Webinar.id)
        .where(WebinarRegistration.user_id == user_id,
               WebinarRegistration.status == "registered")
        .order_by(Webinar.starts_at))).all()
    coming = [(w, r) for w, r in rows if ends_at(w) + ATTEND_AFTER > now]
    past = [(w, r) for w, r in rows if ends_at(w) + ATTEND_AFTER <= now][-5:]
    return coming + list(reversed(past))


# --- reminders --------------------------------------------------------------------------

async def due_reminder_ids(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(WebinarReminder.id).where(WebinarReminder.status == "pending",
                                         WebinarReminder.due_at <= now)
        .order_by(WebinarReminder.due_at, WebinarReminder.id))
    return list(rows)


@dataclass
class ClaimedReminder:
    reminder: WebinarReminder
    webinar: Webinar
    send: bool
    minutes_left: int  # what the message says; less than the offset when sent late


async def claim_reminder(session: AsyncSession, reminder_id: int,
                         now: datetime) -> ClaimedReminder | None:
    """Take a due reminder exactly once (in the caller's transaction).

    Returns None when another tick already took it. `send` is False when it is too late
    (the bot was down past the start) or the webinar is cancelled: the row is closed.
    """
    reminder = await session.get(WebinarReminder, reminder_id)
    if reminder is None or reminder.status != "pending" or reminder.due_at > now:
        return None
    webinar = await session.get(Webinar, reminder.webinar_id)
    if webinar is None:
        return None
    late = now - reminder.due_at > LATE_GRACE
    if webinar.status != "published":
        status = "cancelled"
    elif now >= webinar.starts_at and late:
        status = "skipped"
        logger.warning("webinar %s: reminder %s min before start was due at %s but the "
                       "webinar has started; skipped", webinar.id, reminder.offset_min,
                       reminder.due_at.isoformat())
    elif await session.scalar(select(WebinarReminder.id).where(
            WebinarReminder.webinar_id == webinar.id, WebinarReminder.status == "pending",
            WebinarReminder.due_at <= now, WebinarReminder.offset_min < reminder.offset_min)
            .limit(1)):
        # after a downtime several reminders can be due at once: only the latest goes out
        status = "skipped"
        logger.info("webinar %s: reminder %s min before start superseded by a later one",
                    webinar.id, reminder.offset_min)
    else:
        status = "sent"
    result = await session.execute(
        update(WebinarReminder)
        .where(WebinarReminder.id == reminder.id, WebinarReminder.status == "pending",
               WebinarReminder.due_at == reminder.due_at)
        .values(status=status, processed_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    reminder.status = status
    left = reminder.offset_min
    if late:  # say how long is really left, not what the offset promised
        left = max(0, math.ceil((webinar.starts_at - now).total_seconds() / 60))
    return ClaimedReminder(reminder, webinar, status == "sent", left)


def reminder_dedup(reminder: WebinarReminder) -> str:
    """Once per offset and due time: a moved webinar's re-armed reminder goes out again."""
    return f"{reminder.offset_min}:{int(reminder.due_at.timestamp())}"


def registrants_xlsx(rows: list[tuple[User, WebinarRegistration]], headers: list[str],
                     region_name: Any, district_name: Any, role_name: Any,
                     tz: tzinfo, title: str = "Registrants", waiting: str = "-") -> bytes:
    """One sheet: a row per registrant (name, region, district, organisation, role,
    registered at, attended at), local times. A minor still waiting for a guardian's
    confirmation is a row marked `waiting`, without name or organisation."""
    from openpyxl import Workbook

    from bot.services import xlsx

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    xlsx.append(sheet, headers)

    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else ""

    for user, reg in rows:
        name, org = as_seen_by_others(user.limited, user.full_name, user.org_name, waiting)
        xlsx.append(sheet, [name, region_name(user.region_id),
                            district_name(user.district_id), org,
                            role_name(user.role),
                            local(reg.registered_at), local(reg.attended_at)])
    for column, width in zip("ABCDEFG", (32, 28, 28, 32, 12, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    return xlsx.to_bytes(book)
