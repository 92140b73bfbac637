"""What recipients press under an announcement: "✅ Received" / "✅ Done", and a
coordinator's "Forward to my people" under a cascading one (the author's flow, seeded)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import BroadcastAckCD, BroadcastFwdCD
from bot.channels.telegram import markup_of
from bot.config import Settings
from bot.i18n import PoI18n
from bot.notices import broadcasts as notices
from bot.routing import Routes
from bot.services import broadcasts as svc
from bot.services.activity import log_activity
from bot.services.delivery import OutgoingMessage
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from db.models import Broadcast
from handlers.broadcast.flow import begin
from handlers.shared.errors import error_flags
from handlers.shared.voice import voice_of

# a refused press pops up: not a recipient, no longer forwardable, the day's limit
routes = Routes(__name__, flags=error_flags(alert=True))


@routes.callback_query(BroadcastAckCD.filter())
async def on_acknowledge(cb: CallbackQuery, callback_data: BroadcastAckCD,
                         session: AsyncSession, settings: Settings, i18n: PoI18n,
                         clock: Callable[[], datetime], user: UserInfo, locale: str) -> None:
    new = await svc.acknowledge(session, user, callback_data.id, clock())
    await cb.answer(_("Thank you, noted!") if new else _("You have already confirmed."))
    bc = await session.get(Broadcast, callback_data.id)
    forward = bool(bc and bc.cascade and user.role == "coordinator")
    rows = notices.button_rows(voice_of(settings, i18n), locale, callback_data.id, None,
                               forward)
    await cb.message.edit_reply_markup(reply_markup=markup_of(OutgoingMessage(buttons=rows)))


@routes.callback_query(BroadcastFwdCD.filter())
async def on_forward(cb: CallbackQuery, callback_data: BroadcastFwdCD, state: FSMContext,
                     session: AsyncSession, settings: Settings, i18n: PoI18n,
                     places: PlaceDirectory, clock: Callable[[], datetime],
                     user: UserInfo) -> None:
    bc = await svc.forwardable(session, user, callback_data.id)
    await begin(cb.message, state, session, user, {"content": bc.content, "parent_id": bc.id},
                settings=settings, voice=voice_of(settings, i18n), places=places, now=clock())
    await log_forward(session, user, bc.id)


async def log_forward(session: AsyncSession, user: UserInfo, bc_id: int) -> None:
    await log_activity(session, "broadcast_forward_opened", user, "broadcast", bc_id)
