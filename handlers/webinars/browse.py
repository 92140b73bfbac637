"""Webinars for participants: /webinars, a card, registering, "I'm here", the calendar file,
and the webinars block of /my."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.callbacks import WebinarCD
from bot.config import Settings
from bot.i18n import fmt_dt
from bot.routing import Routes
from bot.services import webinars as svc
from bot.services.places import PlaceDirectory
from bot.services.users import STAFF, UserInfo
from handlers.webinars.cards import as_staff, send_card, visible_webinar, webinar_ics
from handlers.webinars.keyboards import webinar_list_kb
from handlers.webinars.texts import webinar_list

routes = Routes(__name__)


@routes.message(Command("webinars"))
async def cmd_webinars(message: Message, session: AsyncSession, settings: Settings,
                       clock: Callable[[], datetime], user: UserInfo, role: str,
                       locale: str) -> None:
    viewer = user if role != STAFF else as_staff(user)
    items = await svc.upcoming(session, viewer, clock())
    if not items:
        await message.answer(_("There are no upcoming webinars for you right now. We will "
                               "let you know when one is planned."))
        return
    text, buttons = webinar_list(items, locale, settings.tz)
    await message.answer(text, reply_markup=webinar_list_kb(buttons))


@routes.callback_query(WebinarCD.filter(F.action == "open"))
async def on_open(cb: CallbackQuery, callback_data: WebinarCD, session: AsyncSession,
                  settings: Settings, places: PlaceDirectory, clock: Callable[[], datetime],
                  user: UserInfo, role: str, locale: str) -> None:
    webinar = await visible_webinar(session, callback_data.id, user, role)
    await send_card(cb.message, session, webinar, user, role, locale, tz=settings.tz,
                    places=places, now=clock())


@routes.callback_query(WebinarCD.filter(F.action.in_({"reg", "unreg", "here"})))
async def on_participant_action(cb: CallbackQuery, callback_data: WebinarCD,
                                session: AsyncSession, settings: Settings,
                                places: PlaceDirectory, clock: Callable[[], datetime],
                                user: UserInfo, role: str, locale: str) -> None:
    now = clock()
    webinar = await visible_webinar(session, callback_data.id, user, role)
    member = as_staff(user) if role == STAFF else user
    if callback_data.action == "reg":
        new = await svc.register(session, webinar, member, now)
        text = (_("✅ You are registered. Reminders will come before the start.") if new
                else _("You are already registered for this webinar."))
    elif callback_data.action == "unreg":
        new = await svc.unregister(session, webinar, member, now)
        text = (_("Your registration is cancelled.") if new
                else _("You were not registered for this webinar."))
    else:
        new = await svc.attend(session, webinar, member, now)
        text = (_("✋ Thank you, your attendance is recorded.") if new
                else _("Your attendance is already recorded."))
    await cb.message.answer(text)
    if callback_data.action != "here":
        await send_card(cb.message, session, webinar, user, role, locale, tz=settings.tz,
                        places=places, now=clock())


@routes.callback_query(WebinarCD.filter(F.action == "ics"))
async def on_calendar(cb: CallbackQuery, callback_data: WebinarCD, session: AsyncSession,
                      settings: Settings, clock: Callable[[], datetime], user: UserInfo,
                      role: str, locale: str) -> None:
    webinar = await visible_webinar(session, callback_data.id, user, role)
    data = webinar_ics(webinar, locale, settings.tz, clock())
    await cb.message.answer_document(
        BufferedInputFile(data, filename=f"webinar-{webinar.id}.ics"),
        caption=_("Open this file to add the webinar to your calendar."))


async def my_webinars_text(session: AsyncSession, app: App, user: UserInfo,
                           locale: str) -> str:
    """The webinars block of /my (HTML): upcoming registrations, then recent past ones;
    "" when the user has none."""
    rows = await svc.my_webinars(session, user.id, app.now())
    if not rows:
        return ""
    lines = [app.translator.t(locale, "<b>My webinars</b>")]
    now = app.now()
    for w, reg in rows:
        mark = "❌" if w.status == "cancelled" else (
            "✋" if reg.attended_at else ("📅" if svc.ends_at(w) > now else "•"))
        lines.append(f"{mark} {fmt_dt(w.starts_at, locale, app.settings.tz)} — "
                     f"{html.escape(w.text('title', locale))}")
    return "\n".join(lines)
