"""The author's flow: its steps, the area they may address, and its start (/broadcast, or
"Forward to my people" under a cascading announcement: handlers.broadcast.recipients)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.notices import Voice
from bot.notices import broadcasts as notices
from bot.services import broadcasts as svc
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.broadcast.keyboards import audience_kb


class BroadcastSG(StatesGroup):
    content = State()
    audience = State()
    ack = State()
    confirm = State()
    when = State()


def scope_for(user: UserInfo, data: dict[str, Any], places: PlaceDirectory) -> svc.Scope:
    """The author's scope, narrowed to the chosen area (checked again every time)."""
    scope = svc.scope_of(user)
    district_id = data.get("district_id")
    place = places.district(district_id) if district_id else None
    return svc.narrow(scope, data.get("region_id"), district_id,
                      place.region_id if place else None)


def audience_markup(voice: Voice, places: PlaceDirectory, user: UserInfo,
                    data: dict[str, Any]) -> InlineKeyboardMarkup:
    """The audiences, and the area for those who may choose one: staff and regional
    coordinators (whose "everywhere" is their region, never the country)."""
    area = None
    if user.role == "staff" or user.coordinator_level == "regional":
        region_id = data.get("region_id") or (user.region_id if user.role != "staff" else None)
        area = notices.area_label(voice, places, user.locale, region_id,
                                  data.get("district_id"))
    return audience_kb(area)


async def begin(message: Message, state: FSMContext, session: AsyncSession, user: UserInfo,
                seed: dict[str, Any], *, settings: Settings, voice: Voice,
                places: PlaceDirectory, now: datetime) -> None:
    """Start the flow afresh: ask for the content, or (forwarding) for the audience."""
    svc.scope_of(user)
    await svc.check_daily_limit(session, user, settings.broadcasts_per_day, now, settings.tz)
    await state.clear()
    await state.set_data(seed)
    if "content" in seed:
        await state.set_state(BroadcastSG.audience)
        await message.answer(_("Forward to your people: who should receive it?"),
                             reply_markup=audience_markup(voice, places, user, seed))
        return
    await state.set_state(BroadcastSG.content)
    await message.answer(_("Send me the announcement: text, a photo, a video, a document or "
                           "an album. Recipients will see it exactly as you send it.\n"
                           "/cancel to stop."))
