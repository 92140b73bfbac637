"""Anything no other router took: unknown commands, stray messages, other update types."""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.routing import Routes
from handlers.shared.errors import StaleButton

routes = Routes(__name__)


@routes.message(F.chat.type == "private", F.text.startswith("/"))
async def on_unknown_command(message: Message) -> None:
    await message.answer(_("I do not know this command. Send /help to see yours."))


@routes.message(F.chat.type == "private")
async def on_stray_message(message: Message) -> None:
    await message.answer(_("I did not understand. Send /help to see what I can do."))


@routes.callback_query()
async def on_stale_button(cb: CallbackQuery) -> None:
    raise StaleButton()
