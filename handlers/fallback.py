"""Anything no other router took: unknown commands, stray messages, other update types."""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.routing import Routes
from bot.services.users import GUEST
from handlers.shared.errors import StaleButton
from handlers.shared.menu import on_whatsapp, send_main_menu

routes = Routes(__name__)


@routes.message(F.chat.type == "private", F.text.startswith("/"))
async def on_unknown_command(message: Message) -> None:
    await message.answer(_("I do not know this command. Send /help to see yours."))


@routes.message(F.chat.type == "private")
async def on_stray_message(message: Message, role: str) -> None:
    await message.answer(_("I did not understand. Send /help to see what I can do."))
    if on_whatsapp(message) and role != GUEST:
        # "hi", "menu": WhatsApp people who do not type commands get the menu to choose from
        await send_main_menu(message, role)


@routes.callback_query()
async def on_stale_button(cb: CallbackQuery) -> None:
    raise StaleButton()
