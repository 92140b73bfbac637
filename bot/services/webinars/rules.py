"""Webinars: creating, listing, registering, attending, moving and cancelling.

Times are aware UTC; `now` is always passed in so tests and the scheduler control time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.webinars.audience import Member, audience_matches, clean_audience
from bot.services.webinars.reminders import plan_reminders
from db.models import Delivery, Webinar, WebinarRegistration, WebinarReminder

DEFAULT_OFFSETS = (24 * 60, 60, 0)
ATTEND_BEFORE = timedelta(minutes=15)
ATTEND_AFTER = timedelta(minutes=30)
REMINDER_SOURCE = "webinar_reminder"


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
