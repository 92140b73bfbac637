"""A person's own certificates (in /my): the list, and each PDF again on request."""

from __future__ import annotations

import asyncio
import html

from aiogram import Bot
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MyCertCD
from bot.config import Settings
from bot.i18n import PoI18n
from bot.routing import Routes
from bot.services import certificates as certs
from bot.services.users import UserInfo
from db.models import Certificate
from handlers.shared.errors import StaleButton

routes = Routes(__name__)
SHOWN = 20  # the newest; older ones stay in the registry and with /verify


def my_certificates_text(items: list[Certificate], i18n: PoI18n, locale: str,
                         settings: Settings) -> str:
    lines = ["🎓 <b>" + _("My certificates") + "</b>"]
    for cert in items[:SHOWN]:
        date = cert.issued_at.astimezone(settings.tz).strftime("%d.%m.%Y")
        line = (f"• <code>{cert.number}</code> · {date} · "
                + html.escape(certs.reason_text(i18n.translator, locale, cert), quote=False))
        if cert.revoked_at is not None:
            line += " — " + _("revoked")
        lines.append(line)
    lines.append(_("Press a number to get its PDF again."))
    return "\n".join(lines)


def my_certificates_kb(items: list[Certificate]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for cert in items[:SHOWN]:
        if cert.revoked_at is None:
            kb.button(text=f"📄 {cert.number}", callback_data=MyCertCD(id=cert.id))
    kb.adjust(1)
    return kb.as_markup()


async def send_my_certificates(message: Message, session: AsyncSession, user: UserInfo,
                               i18n: PoI18n, locale: str, settings: Settings) -> None:
    """Part of /my (handlers/challenges/browse.py): nothing when there are none."""
    items = await certs.holder_certificates(session, user.id)
    if items:
        await message.answer(my_certificates_text(items, i18n, locale, settings),
                             reply_markup=my_certificates_kb(items))


@routes.callback_query(MyCertCD.filter())
async def on_my_certificate(cb: CallbackQuery, callback_data: MyCertCD, session: AsyncSession,
                            user: UserInfo, i18n: PoI18n, settings: Settings, bot: Bot) -> None:
    cert = await certs.holder_certificate(session, user.id, callback_data.id)
    if cert is None:  # revoked since, or not theirs (a forged button)
        raise StaleButton()
    template = await certs.get_settings(session, cert.template)
    username = (await bot.me()).username or ""
    pdf = await asyncio.to_thread(certs.render, i18n.translator, cert, template, username,
                                  settings.tz)
    await cb.message.answer_document(BufferedInputFile(pdf, filename=f"{cert.number}.pdf"),
                                     caption=_("Certificate No. {number}").format(
                                         number=cert.number))
