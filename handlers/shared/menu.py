"""The main menu (help) for a role."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import labels
from bot.callbacks import WeekCD
from bot.commands import help_lines
from bot.services.users import COORDINATOR


def menu_text(role: str) -> str:
    lines = [f"/{cmd} — {desc}" for cmd, desc in help_lines(role)]
    title = labels.ROLE.get(role)
    head = _("Your commands ({role}):").format(role=str(title)) if title else _("Commands:")
    return head + "\n" + "\n".join(lines)


def menu_markup(role: str) -> InlineKeyboardMarkup | None:
    """A coordinator's menu has the weekly report's button (the same form as /week)."""
    if role != COORDINATOR:
        return None
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📝 Fill in the weekly report"), callback_data=WeekCD(action="start"))
    return kb.as_markup()


async def send_main_menu(message: Message, role: str) -> None:
    await message.answer(menu_text(role), reply_markup=menu_markup(role))
