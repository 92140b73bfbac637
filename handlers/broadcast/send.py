"""The end of /broadcast: send now (with a live progress message) or schedule it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import BroadcastCD
from bot.channels.telegram import markup_of
from bot.config import Settings
from bot.i18n import PoI18n, fmt_dt
from bot.notices import broadcasts as notices
from bot.routing import Routes
from bot.services import broadcasts as svc
from bot.services.delivery import OutgoingMessage
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from db.models import Broadcast
from handlers.broadcast.flow import BroadcastSG, scope_for
from handlers.broadcast.keyboards import scheduled_kb
from handlers.broadcast.texts import scheduled_text
from handlers.shared.errors import error_flags, require_state
from handlers.shared.voice import voice_of

routes = Routes(__name__)


async def confirmed(state: FSMContext, session: AsyncSession, settings: Settings,
                    places: PlaceDirectory, now: datetime, user: UserInfo,
                    scheduled_at: datetime | None = None) -> Broadcast:
    """The composed broadcast, stored (its scope, audience and the day's limit checked)."""
    data = await state.get_data()
    scope = scope_for(user, data, places)
    content = {k: v for k, v in data["content"].items() if k != "group"}
    return await svc.create(session, user, content=content, audience=data["audience"],
                            scope=scope, ack=data.get("ack"), parent_id=data.get("parent_id"),
                            locale=user.locale, now=now, scheduled_at=scheduled_at,
                            limit=settings.broadcasts_per_day, tz=settings.tz)


@routes.callback_query(BroadcastCD.filter(F.action == "send"), flags=error_flags(alert=True))
async def on_send(cb: CallbackQuery, state: FSMContext, session: AsyncSession,
                  settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                  clock: Callable[[], datetime], user: UserInfo, locale: str) -> None:
    await require_state(state, BroadcastSG.confirm, alert=False)
    bc = await confirmed(state, session, settings, places, clock(), user)
    await state.clear()
    voice = voice_of(settings, i18n)
    payloads, followups = notices.build_payloads(voice, bc)
    await svc.start(session, bc, payloads, followups, clock(), settings.whatsapp_daily_limit)
    await cb.message.edit_reply_markup(reply_markup=None)
    progress = notices.progress_text(voice, bc, await svc.progress(session, bc.id),
                                     settings.delivery_rate)
    sent = await cb.message.answer(progress, reply_markup=markup_of(OutgoingMessage(
        buttons=notices.progress_buttons(voice, locale, bc.id))))
    bc.progress_chat_id, bc.progress_message_id = sent.chat.id, sent.message_id


@routes.callback_query(BroadcastCD.filter(F.action == "sched"))
async def on_schedule(cb: CallbackQuery, state: FSMContext, settings: Settings,
                      clock: Callable[[], datetime]) -> None:
    await require_state(state, BroadcastSG.confirm, alert=False)
    await state.set_state(BroadcastSG.when)
    await cb.message.edit_reply_markup(reply_markup=None)
    # an example in the future (the next full hour but one), not this very minute
    soon = clock().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    await cb.message.answer(_("When should it go out? Type the date and time in Almaty time, "
                              "for example: {example}").format(
        example=fmt_dt(soon, "kk", settings.tz)))


@routes.message(BroadcastSG.when)
async def on_schedule_time(message: Message, state: FSMContext, session: AsyncSession,
                           settings: Settings, places: PlaceDirectory,
                           clock: Callable[[], datetime], user: UserInfo) -> None:
    when = svc.parse_local(message.text or "", settings.tz)
    bc = await confirmed(state, session, settings, places, clock(), user, scheduled_at=when)
    await state.clear()
    await message.answer(scheduled_text(bc.id, when, user.locale, settings.tz),
                         reply_markup=scheduled_kb(bc.id))
