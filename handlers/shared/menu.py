"""The main menu (help) for a role."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import labels
from bot.callbacks import WeekCD
from bot.commands import help_lines
from bot.services.users import COORDINATOR
from db.models.whatsapp import WHATSAPP, channel_of


def menu_text(role: str, whatsapp: bool = False) -> str:
    title = labels.ROLE.get(role)
    head = _("Your commands ({role}):").format(role=str(title)) if title else _("Commands:")
    if whatsapp:  # the commands are the menu's options
        return head
    lines = [f"/{cmd} — {desc}" for cmd, desc in help_lines(role)]
    return head + "\n" + "\n".join(lines)


def menu_markup(role: str, whatsapp: bool = False) -> InlineKeyboardMarkup | None:
    """A coordinator's menu has the weekly report's button (the same form as /week).
    WhatsApp has no "/" menu to tap: there each command is an option, for people who do not
    type commands; choosing one is typing it (bot.channels.whatsapp.inbound)."""
    kb = InlineKeyboardBuilder()
    if role == COORDINATOR:
        kb.button(text=_("📝 Fill in the weekly report"), callback_data=WeekCD(action="start"))
    if whatsapp:
        for cmd, desc in help_lines(role):
            kb.button(text=f"/{cmd} — {desc}", callback_data=f"/{cmd}")
    kb.adjust(1)
    return kb.as_markup() if kb.export() else None


def on_whatsapp(message: Message) -> bool:
    return channel_of(message.chat.id) == WHATSAPP


async def send_main_menu(message: Message, role: str) -> None:
    whatsapp = on_whatsapp(message)
    await message.answer(menu_text(role, whatsapp), reply_markup=menu_markup(role, whatsapp))
