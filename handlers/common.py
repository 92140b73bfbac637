"""/help, /cancel, /language: available everywhere, in any state."""

from __future__ import annotations

from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LangCD
from bot.config import Settings
from bot.i18n import LANGUAGES, PoI18n
from bot.routing import Routes
from bot.services.places import PlaceDirectory
from bot.services.registration import set_locale
from bot.services.users import UserCache, UserInfo
from handlers.people.registration import RegistrationSG, advance, clear_keeping_language
from handlers.shared.keyboards import language_kb
from handlers.shared.menu import send_main_menu

routes = Routes(__name__)


@routes.message(Command("help"))
async def cmd_help(message: Message, role: str) -> None:
    await send_main_menu(message, role)


@routes.message(Command("cancel"))
async def cmd_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    picking = (await state.get_data()).get("picker")  # the people picker's 👤 keyboard goes
    await clear_keeping_language(state)
    await message.answer(_("Cancelled. Send /help to see what you can do."),
                         reply_markup=ReplyKeyboardRemove() if picking else None)


@routes.message(Command("language"))
async def cmd_language(message: Message) -> None:
    await message.answer("Тілді таңдаңыз · Выберите язык · Choose your language",
                         reply_markup=language_kb())


@routes.callback_query(LangCD.filter(), ~StateFilter(RegistrationSG.language))
async def on_language_switch(cb: CallbackQuery, callback_data: LangCD, state: FSMContext,
                             session: AsyncSession, users: UserCache, i18n: PoI18n,
                             places: PlaceDirectory, settings: Settings,
                             user: UserInfo | None) -> None:
    if callback_data.code not in LANGUAGES:
        await cb.answer()
        return
    if user is not None:
        await set_locale(session, users, user, callback_data.code)
    else:
        await state.update_data(locale=callback_data.code)
    with i18n.use_locale(callback_data.code):
        await cb.message.edit_text(_("Language changed: English."))
        if user is None and await state.get_state() is not None:
            # the pending question, in the new language
            await advance(cb.message, state, places, settings, session)
