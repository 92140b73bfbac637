"""What the webinars' handlers share: a webinar's card as a person sees it, its calendar
file, who may see it, and how the webinar notices speak."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import webinars as svc
from bot.services.errors import DomainError
from bot.services.ics import event_ics
from bot.services.places import PlaceDirectory
from bot.services.users import STAFF, UserInfo
from db.models import Webinar
from handlers.webinars.keyboards import webinar_card_kb
from handlers.webinars.texts import card_text


def as_staff(user: UserInfo) -> UserInfo:
    return replace(user, role=STAFF)


async def visible_webinar(session: AsyncSession, webinar_id: int, user: UserInfo,
                          role: str) -> Webinar:
    """The webinar, if this person may see it (staff see every one); else not_found."""
    webinar = await svc.get_webinar(session, webinar_id)
    if role != STAFF and not svc.audience_matches(webinar.audience, user):
        raise DomainError("not_found")
    return webinar


async def send_card(message: Message, session: AsyncSession, webinar: Webinar,
                    user: UserInfo, role: str, locale: str, *, tz: tzinfo,
                    places: PlaceDirectory, now: datetime) -> None:
    """The card with the buttons this person may press now."""
    staff = role == STAFF
    reg = await svc.registration_of(session, webinar.id, user.id)
    registered = reg is not None and reg.status == "registered"
    count = await svc.registered_count(session, webinar.id)
    open_ = webinar.status == "published" and svc.ends_at(webinar) > now
    here = (registered and webinar.status == "published" and svc.in_window(webinar, now)
            and reg.attended_at is None)
    text = card_text(webinar, locale, tz, places, registered_count=count, reg=reg, staff=staff)
    kb = webinar_card_kb(webinar.id, registered=registered, open_=open_, here=here,
                         join_url=webinar.join_url if registered and open_ else None,
                         staff=staff)
    await message.answer(text, reply_markup=kb)


def webinar_ics(webinar: Webinar, locale: str, tz: tzinfo, now: datetime) -> bytes:
    description = webinar.text("description", locale) + "\n\n" + webinar.join_url
    return event_ics(uid=f"webinar-{webinar.id}@mektep-parliament-bot",
                     title=webinar.text("title", locale), description=description,
                     starts_at=webinar.starts_at, ends_at=svc.ends_at(webinar),
                     url=webinar.join_url, tz=tz, stamp=now,
                     sequence=webinar.sequence, cancelled=webinar.status == "cancelled")
