"""A parent or guardian confirms a minor's account through the link the minor forwards."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import GuardianCD
from bot.config import Settings
from bot.i18n import PoI18n
from bot.notifications import notify_guardian_confirmed
from bot.routing import Routes
from bot.services.guardian import confirm_guardian, guardian_student
from bot.services.users import UserCache, UserInfo
from handlers.shared.errors import error_flags

routes = Routes(__name__)


async def guardian_link(bot: Bot, token: str) -> str:
    """The one-time link a minor forwards to a parent (shown at registration and in /profile)."""
    return f"https://t.me/{(await bot.me()).username}?start=g_{token}"


async def limited_text(bot: Bot, settings: Settings, token: str) -> str:
    """What a minor waiting for a guardian may and may not do, with the link to forward."""
    return _("Because you are under {age}, your account is limited until a parent or guardian "
             "confirms it: you can read news and register for webinars, but you cannot join "
             "challenges or actions, send entries or receive certificates yet. Forward this "
             "link to them:\n{link}").format(age=settings.guardian_age,
                                             link=await guardian_link(bot, token))


async def show_guardian_consent(message: Message, session: AsyncSession, token: str,
                                settings: Settings, user: UserInfo | None) -> None:
    student = await guardian_student(session, token, user)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ I confirm"), callback_data=GuardianCD(token=token))
    await message.answer(_(
        "Hello! {name} ({org}) registered in the School and Student Parliament bot and asks "
        "you, as a parent or guardian, to confirm. We store their name, organisation, region, "
        "district, faction, position and grade to run challenges, contests and webinars. "
        "Nothing is shared outside the centre, and the data can be erased at any time with "
        "/deleteme. Consent version: {version}.\n\nDo you confirm?").format(
            name=html.escape(student.full_name or "—"), org=html.escape(student.org_name or "—"),
            version=settings.consent_version), reply_markup=kb.as_markup())


@routes.callback_query(GuardianCD.filter(), flags=error_flags(alert=True))
async def on_guardian_confirm(cb: CallbackQuery, callback_data: GuardianCD,
                              session: AsyncSession, users: UserCache, i18n: PoI18n,
                              settings: Settings, clock: Callable[[], datetime],
                              user: UserInfo | None) -> None:
    student = await confirm_guardian(session, users, callback_data.token,
                                     settings.consent_version, clock(), user)
    # Queued with the confirmation, before any reply: a failed reply must not lose it.
    await notify_guardian_confirmed(session, i18n, student)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Thank you! The account is now confirmed."))
