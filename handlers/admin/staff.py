"""Centre staff made (/promote) and unmade (/demote), each confirmed by a button; the
person is named through the people picker (handlers/shared/picker.py)."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import DemoteCD, PickCD, PromoteCD
from bot.config import Settings
from bot.i18n import PoI18n
from bot.notices.approvals import notify_demoted, notify_promoted
from bot.routing import Routes
from bot.services import people
from bot.services import registration as reg
from bot.services import staff as staff_svc
from bot.services.places import PlaceDirectory
from bot.services.users import UserCache, UserInfo
from db.models import User
from handlers.admin.common import active_me
from handlers.shared import picker

routes = Routes(__name__)


def who_text(places: PlaceDirectory, user: User, locale: str) -> str:
    """Name, organisation and place: enough to see it is the intended person."""
    return "\n".join(html.escape(part) for part in (
        user.full_name or "—", user.org_name or "—",
        ", ".join(places.names(user.region_id, user.district_id, locale)) or "—"))


class PromoteSG(StatesGroup):
    person = State()


@routes.message(Command("promote"))
async def cmd_promote(message: Message, command: CommandObject, state: FSMContext,
                      session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    """By a part of the name, @username, Telegram's picker, a shared contact or an id."""
    await state.clear()
    if not command.args:
        await state.set_state(PromoteSG.person)
        await state.set_data({"picker": True})
        await message.answer(_("Whom should I make centre staff?") + " "
                             + picker.how_to_name(message) + " " + _("/cancel stops."),
                             reply_markup=picker.picker_keyboard("promote"))
        return
    await promote_named(message, state, session, places, locale, command.args)


@routes.message(PromoteSG.person, picker.ANSWER)
async def on_promote_answer(message: Message, state: FSMContext, session: AsyncSession,
                            places: PlaceDirectory, locale: str) -> None:
    await promote_named(message, state, session, places, locale)


async def promote_named(message: Message, state: FSMContext, session: AsyncSession,
                        places: PlaceDirectory, locale: str, text: str | None = None) -> None:
    """Asked about the one person named; several: buttons (the prompt ends with either)."""
    tg_id = await picker.named(message, session, places, locale, people.EVERYONE, "promote",
                               text=text)
    if tg_id is not None:  # a refusal (already staff, ...) leaves the prompt open
        await ask_promote(message, session, places, locale, tg_id)
    await state.clear()


@routes.callback_query(PickCD.filter(F.purpose == "promote"))
async def on_promote_pick(cb: CallbackQuery, callback_data: PickCD,
                          session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await ask_promote(cb.message, session, places, locale, callback_data.tg_id)


async def ask_promote(message: Message, session: AsyncSession, places: PlaceDirectory,
                      locale: str, tg_id: int) -> None:
    user = await reg.promotable(session, tg_id)
    # Staff see everyone's data: a mistyped id must not slip through.
    # The id rides in the buttons, so an older prompt can only ever promote whom it shows.
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, make staff"), callback_data=PromoteCD(tg_id=tg_id, yes=True))
    kb.button(text=_("✖ Cancel"), callback_data=PromoteCD(tg_id=tg_id, yes=False))
    await message.answer(
        _("Make this person centre staff? Staff see everyone's data and use every command.")
        + "\n\n" + _("Role: {value}").format(value=labels.label(labels.ROLE, user.role))
        + "\n" + who_text(places, user, locale), reply_markup=kb.as_markup())


@routes.callback_query(PromoteCD.filter())
async def on_promote_confirm(cb: CallbackQuery, callback_data: PromoteCD, session: AsyncSession,
                             users: UserCache, i18n: PoI18n, user: UserInfo | None) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    if not callback_data.yes:  # either way the picker's 👤 keyboard, if still shown, goes
        await cb.message.answer(_("Cancelled. Nothing was saved."),
                                reply_markup=picker.NO_KEYBOARD)
        return
    staff = await active_me(session, user)
    promoted = await reg.promote_to_staff(session, users, staff, callback_data.tg_id)
    await notify_promoted(session, i18n.translator, promoted)
    await cb.message.answer(_("{name} is now centre staff.").format(
        name=html.escape(promoted.full_name or str(callback_data.tg_id))),
        reply_markup=picker.NO_KEYBOARD)


@routes.message(Command("demote"))
async def cmd_demote(message: Message, command: CommandObject, session: AsyncSession,
                     places: PlaceDirectory, settings: Settings, locale: str) -> None:
    """Asks first, showing whom: staff rights go at once and a mistyped id must not slip."""
    if not (command.args or "").strip():
        await message.answer(_("Usage: /demote &lt;a part of the name, @username or Telegram "
                               "id&gt; (a centre staff member)."))
        return
    tg_id = await picker.named(message, session, places, locale, people.EVERYONE, "demote",
                               text=command.args)
    if tg_id is not None:
        await ask_demote(message, session, places, settings, locale, tg_id)


@routes.callback_query(PickCD.filter(F.purpose == "demote"))
async def on_demote_pick(cb: CallbackQuery, callback_data: PickCD, session: AsyncSession,
                         places: PlaceDirectory, settings: Settings, locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await ask_demote(cb.message, session, places, settings, locale, callback_data.tg_id,
                     me=cb.from_user.id)


async def ask_demote(message: Message, session: AsyncSession, places: PlaceDirectory,
                     settings: Settings, locale: str, tg_id: int, me: int | None = None) -> None:
    user = await staff_svc.demotable(session, tg_id)
    lines = [_("Take away this person's staff rights? They become a parliament member and "
               "lose every staff command at once.")]
    if tg_id == (me if me is not None else message.from_user.id):
        lines.append(_("⚠️ This is you: you will lose your own staff rights."))
    if tg_id in settings.staff_ids:
        lines.append(_("Their id is in STAFF_IDS: it will no longer make them staff at start. "
                       "Remove it from STAFF_IDS as well."))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, take staff rights away"), callback_data=DemoteCD(tg_id=tg_id,
                                                                             yes=True))
    kb.button(text=_("✖ Cancel"), callback_data=DemoteCD(tg_id=tg_id, yes=False))
    await message.answer("\n".join(lines) + "\n\n" + who_text(places, user, locale),
                         reply_markup=kb.as_markup())


@routes.callback_query(DemoteCD.filter())
async def on_demote_confirm(cb: CallbackQuery, callback_data: DemoteCD, session: AsyncSession,
                            users: UserCache, i18n: PoI18n, clock: Callable[[], datetime],
                            fsm_storage: BaseStorage, user: UserInfo | None) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    if not callback_data.yes:
        await cb.message.answer(_("Cancelled. Nothing was saved."))
        return
    staff = await active_me(session, user)
    demoted = await staff_svc.demote(session, users, staff, callback_data.tg_id, clock())
    # a staff flow they were in (a wizard, an import) must not go on after the rights went
    await FSMContext(storage=fsm_storage, key=StorageKey(
        bot_id=cb.bot.id, chat_id=callback_data.tg_id, user_id=callback_data.tg_id)).clear()
    if callback_data.tg_id != cb.from_user.id:
        await notify_demoted(session, i18n.translator, demoted)
    await cb.message.answer(_("{name} is no longer centre staff.").format(
        name=html.escape(demoted.full_name or str(callback_data.tg_id))))
