"""Anything no other router took: unknown commands, stray messages, other update types."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

router = Router(name=__name__)


@router.message(F.chat.type == "private", F.text.startswith("/"))
async def on_unknown_command(message: Message) -> None:
    await message.answer(_("I do not know this command. Send /help to see yours."))


@router.message(F.chat.type == "private")
async def on_stray_message(message: Message) -> None:
    await message.answer(_("I did not understand. Send /help to see what I can do."))


@router.callback_query()
async def on_stale_button(cb: CallbackQuery) -> None:
    await cb.answer(_("This button is no longer active."), show_alert=True)
