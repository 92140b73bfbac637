"""The main menu (help) for a role."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import labels
from bot.commands import help_lines


def menu_text(role: str) -> str:
    lines = [f"/{cmd} — {desc}" for cmd, desc in help_lines(role)]
    title = labels.ROLE.get(role)
    head = _("Your commands ({role}):").format(role=str(title)) if title else _("Commands:")
    return head + "\n" + "\n".join(lines)


async def send_main_menu(message: Message, role: str) -> None:
    await message.answer(menu_text(role))
