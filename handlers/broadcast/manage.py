"""An author's announcements: /broadcasts, cancelling one, its confirmations report and the
reminder to those who have not confirmed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import BroadcastCD
from bot.config import Settings
from bot.i18n import PoI18n
from bot.notices import broadcasts as notices
from bot.routing import Routes
from bot.services import broadcasts as svc
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.broadcast.keyboards import acks_kb, list_kb
from handlers.broadcast.texts import acks_text, list_line, waiting
from handlers.shared.errors import error_flags
from handlers.shared.voice import voice_of

# a refused press pops up: not the author's, already finished, a reminder too soon
routes = Routes(__name__, flags=error_flags(alert=True))


def bc_id_of(callback_data: BroadcastCD) -> int:
    bc_id = as_int(callback_data.value)
    if bc_id is None:
        raise DomainError("not_found")
    return bc_id


@routes.callback_query(BroadcastCD.filter(F.action == "stop"))
async def on_stop(cb: CallbackQuery, callback_data: BroadcastCD, session: AsyncSession,
                  settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                  clock: Callable[[], datetime], user: UserInfo) -> None:
    bc = await svc.cancel(session, user, bc_id_of(callback_data), clock())
    p = await svc.progress(session, bc.id)
    acks = (await svc.ack_counts(session, [bc.id])).get(bc.id, 0) if bc.ack else None
    text = notices.report_text(voice_of(settings, i18n), places, bc, p, acks)
    await cb.message.edit_text(text, reply_markup=None)


@routes.message(Command("broadcasts"))
async def cmd_broadcasts(message: Message, session: AsyncSession, settings: Settings,
                         i18n: PoI18n, user: UserInfo, locale: str) -> None:
    items = await svc.list_own(session, user)
    if not items:
        await message.answer(_("You have not sent any announcements yet. /broadcast starts "
                               "one."))
        return
    acks = await svc.ack_counts(session, [b.id for b in items if b.ack])
    voice = voice_of(settings, i18n)
    lines = [_("Your announcements:")]
    for bc in items:
        progress = await svc.progress(session, bc.id)
        lines.append(list_line(voice, bc, progress, acks, locale, settings.tz))
    await message.answer("\n".join(lines), reply_markup=list_kb(items))


@routes.callback_query(BroadcastCD.filter(F.action == "acks"))
async def on_acks(cb: CallbackQuery, callback_data: BroadcastCD, session: AsyncSession,
                  places: PlaceDirectory, user: UserInfo) -> None:
    bc = await svc.get_own(session, user, bc_id_of(callback_data))
    by = "school" if bc.district_id else "district"
    report = await svc.ack_report(session, bc, by, waiting=str(labels.WAITING_FOR_GUARDIAN))
    await cb.message.answer(acks_text(bc, report, by, places, user.locale),
                            reply_markup=acks_kb(bc.id, waiting(report) if report.missing
                                                 else None))


@routes.callback_query(BroadcastCD.filter(F.action == "nudge"))
async def on_nudge(cb: CallbackQuery, callback_data: BroadcastCD, session: AsyncSession,
                   settings: Settings, i18n: PoI18n, user: UserInfo) -> None:
    bc = await svc.get_own(session, user, bc_id_of(callback_data))
    added = await svc.nudge(session, user, bc, notices.nudge_payloads(voice_of(settings, i18n),
                                                                      bc))
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(ngettext("Reminder queued for {n} person.",
                                     "Reminder queued for {n} people.", added).format(n=added))
