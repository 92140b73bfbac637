"""A parent or guardian confirms, or declines, a minor's account through the link the minor
forwards. The guardian reads every message in the child's language first, with the other
two below it: the child chose the language, the guardian may read another."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import GuardianCD, GuardianNoCD
from bot.config import Settings
from bot.i18n import LANGUAGES, PoI18n
from bot.notices.approvals import notify_guardian_confirmed, notify_guardian_declined
from bot.routing import Routes
from bot.services.guardian import confirm_guardian, decline_guardian, guardian_student
from bot.services.users import UserCache, UserInfo
from db.models import User
from handlers.admin.common import deep_link
from handlers.shared.errors import error_flags

routes = Routes(__name__)
SEPARATOR = "\n\n— — —\n\n"


async def guardian_link(bot: Bot, token: str) -> str:
    """The one-time link a minor forwards to a parent (shown at registration and in /profile)."""
    return await deep_link(bot, f"g_{token}")


async def limited_text(bot: Bot, settings: Settings, token: str) -> str:
    """What a minor waiting for a guardian may and may not do, with the link to forward."""
    return _("Because you are under {age}, your account is limited until a parent or guardian "
             "confirms it: you can read news and register for webinars, but you cannot join "
             "challenges or actions, send entries or receive certificates yet. Forward this "
             "link to them:\n{link}").format(age=settings.guardian_age,
                                             link=await guardian_link(bot, token))


def in_three(i18n: PoI18n, first: str, render: Callable[[], str],
             separator: str = SEPARATOR) -> str:
    """`render()` in the child's language `first`, then in the other two."""
    order = (first, *(lang for lang in LANGUAGES if lang != first)) if first in LANGUAGES \
        else LANGUAGES
    parts = []
    for lang in order:
        with i18n.use_locale(lang):
            parts.append(render())
    return separator.join(parts)


def consent_request(student: User, settings: Settings) -> str:
    return _(
        "Hello! {name} ({org}) registered in the School and Student Parliament bot and asks "
        "you, as a parent or guardian, to confirm. We store their name, organisation, region, "
        "district, faction, position and grade to run challenges, contests and webinars. "
        "Nothing is shared outside the centre, and the data can be erased at any time with "
        "/deleteme. Consent version: {version}.\n\nDo you confirm?").format(
            name=html.escape(student.full_name or "—"), org=html.escape(student.org_name or "—"),
            version=settings.consent_version)


def consent_kb(i18n: PoI18n, locale: str, token: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=in_three(i18n, locale, lambda: _("✅ I confirm"), " · "),
              callback_data=GuardianCD(token=token))
    kb.button(text=in_three(i18n, locale, lambda: _("❌ I do not confirm"), " · "),
              callback_data=GuardianNoCD(token=token))
    kb.adjust(1)
    return kb.as_markup()


async def show_guardian_consent(message: Message, session: AsyncSession, token: str,
                                settings: Settings, i18n: PoI18n, user: UserInfo | None) -> None:
    student = await guardian_student(session, token, user)
    await message.answer(in_three(i18n, student.locale, lambda: consent_request(student,
                                                                                settings)),
                         reply_markup=consent_kb(i18n, student.locale, token))


@routes.callback_query(GuardianCD.filter(), flags=error_flags(alert=True))
async def on_guardian_confirm(cb: CallbackQuery, callback_data: GuardianCD,
                              session: AsyncSession, users: UserCache, i18n: PoI18n,
                              settings: Settings, clock: Callable[[], datetime],
                              user: UserInfo | None) -> None:
    student = await confirm_guardian(session, users, callback_data.token,
                                     settings.consent_version, clock(), user)
    # Queued with the confirmation, before any reply: a failed reply must not lose it.
    await notify_guardian_confirmed(session, i18n.translator, student)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(in_three(i18n, student.locale,
                                     lambda: _("Thank you! The account is now confirmed.")))


@routes.callback_query(GuardianNoCD.filter(~F.sure), flags=error_flags(alert=True))
async def on_guardian_decline(cb: CallbackQuery, callback_data: GuardianNoCD,
                              session: AsyncSession, i18n: PoI18n,
                              user: UserInfo | None) -> None:
    """Erasure cannot be undone: asked once more, with the way back to confirming."""
    student = await guardian_student(session, callback_data.token, user)
    kb = InlineKeyboardBuilder()
    kb.button(text=in_three(i18n, student.locale, lambda: _("Yes, erase the account"), " · "),
              callback_data=GuardianNoCD(token=callback_data.token, sure=True))
    kb.button(text=in_three(i18n, student.locale, lambda: _("✅ I confirm"), " · "),
              callback_data=GuardianCD(token=callback_data.token))
    kb.adjust(1)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(in_three(i18n, student.locale, lambda: _(
        "If you do not confirm, {name}'s account is erased with all their data, as /deleteme "
        "erases it. They can register again later, with your consent. Erase the "
        "account?").format(name=html.escape(student.full_name or "—"))),
        reply_markup=kb.as_markup())


@routes.callback_query(GuardianNoCD.filter(F.sure), flags=error_flags(alert=True))
async def on_guardian_decline_sure(cb: CallbackQuery, callback_data: GuardianNoCD,
                                   session: AsyncSession, users: UserCache, i18n: PoI18n,
                                   clock: Callable[[], datetime], fsm_storage: BaseStorage,
                                   user: UserInfo | None) -> None:
    declined = await decline_guardian(session, users, callback_data.token, clock(), user)
    forget = getattr(fsm_storage, "forget_user", None)  # their half-done flow goes too
    if forget is not None and declined.tg_id is not None:
        forget(declined.tg_id)
    await notify_guardian_declined(session, i18n.translator, declined)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(in_three(i18n, declined.locale, lambda: _(
        "Done: the account and its data were erased. Thank you for your answer.")))
