"""Staff: editing a webinar's field, cancelling it, its registrants and /export_webinar."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import WebinarAdminCD, WebinarWizCD
from bot.config import Settings
from bot.i18n import PoI18n, fmt_int
from bot.middlewares import HEAVY_DB
from bot.notices import webinars as notices
from bot.routing import Routes
from bot.services import webinars as svc
from bot.services.numbers import typed_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.shared.errors import StaleButton
from handlers.shared.voice import voice_of
from handlers.webinars.cards import send_card
from handlers.webinars.keyboards import cancel_confirm_kb, edit_fields_kb, wizard_button_kb
from handlers.webinars.steps import SKIP_VALUES, EditWebinarSG, parse_step
from handlers.webinars.texts import EDIT_FIELDS, PROMPTS, SKIP_BUTTONS, registrants_text

routes = Routes(__name__)


# --- edit ---------------------------------------------------------------------------------

@routes.callback_query(WebinarAdminCD.filter(F.action == "edit"))
async def on_edit(cb: CallbackQuery, callback_data: WebinarAdminCD, session: AsyncSession) -> None:
    webinar = await svc.get_webinar(session, callback_data.id)
    await cb.message.answer(_("What would you like to change?"), reply_markup=edit_fields_kb(
        webinar.id, {k: str(v) for k, v in EDIT_FIELDS.items()}))


@routes.callback_query(WebinarAdminCD.filter(F.action == "field"))
async def on_edit_field(cb: CallbackQuery, callback_data: WebinarAdminCD,
                        state: FSMContext) -> None:
    if callback_data.value not in EDIT_FIELDS:
        await cb.answer()
        return
    await state.set_state(EditWebinarSG.value)
    await state.update_data(webinar_id=callback_data.id, field=callback_data.value)
    skip = SKIP_BUTTONS.get(callback_data.value)  # "No limit", "Default": as in the wizard
    await cb.message.answer(str(PROMPTS[callback_data.value]),
                            reply_markup=wizard_button_kb(str(skip), "skip") if skip else None)


@routes.message(EditWebinarSG.value)
async def on_edit_value(message: Message, state: FSMContext, session: AsyncSession,
                        settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                        clock: Callable[[], datetime], user: UserInfo, role: str,
                        locale: str) -> None:
    field = (await state.get_data()).get("field", "")
    await _save_edit(message, state, session, _Editor(settings, i18n, places, clock),
                     user, role, locale,
                     lambda: parse_step(field, message.text, settings.tz, clock()))


@routes.callback_query(WebinarWizCD.filter(F.action == "skip"), EditWebinarSG.value)
async def on_edit_skip(cb: CallbackQuery, state: FSMContext, session: AsyncSession,
                       settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                       clock: Callable[[], datetime], user: UserInfo, role: str,
                       locale: str) -> None:
    field = (await state.get_data()).get("field", "")
    if field not in SKIP_VALUES:
        await cb.answer()
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await _save_edit(cb.message, state, session, _Editor(settings, i18n, places, clock),
                     user, role, locale, lambda: dict(SKIP_VALUES[field]))


# After every handler of the wizard's buttons (the wizard's routes come before these).
@routes.callback_query(WebinarWizCD.filter())
async def on_stale_wizard_button(cb: CallbackQuery) -> None:
    raise StaleButton()


class _Editor:
    """The running bot's parts an edit uses: time, places, and the notices' voice."""

    def __init__(self, settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                 clock: Callable[[], datetime]) -> None:
        self.tz: tzinfo = settings.tz
        self.voice = voice_of(settings, i18n)
        self.places = places
        self.clock = clock


async def _save_edit(message: Message, state: FSMContext, session: AsyncSession,
                     editor: _Editor, user: UserInfo, role: str, locale: str,
                     read_values: Callable[[], dict[str, Any]]) -> None:
    """Store the edited field (a new time moves the reminders and tells the registrants)."""
    data = await state.get_data()
    field, now = data.get("field", ""), editor.clock()
    webinar = await svc.get_webinar(session, int(data.get("webinar_id", 0)))
    values = read_values()
    if field == "starts_at":
        old_start = webinar.starts_at
        moved = await svc.change_time(session, webinar,
                                      datetime.fromisoformat(values["starts_at"]), now)
        told = await notices.notify_time_change(session, editor.voice, webinar, old_start) \
            if moved else 0
    else:
        (column, value), = values.items()
        await svc.update_field(session, webinar, column, value, now)
        told = None
    await state.clear()
    text = _("Saved.")
    if told is not None:
        text += " " + ngettext("{n} registrant will be told about the new time.",
                                "{n} registrants will be told about the new time.",
                                told).format(n=fmt_int(told, locale))
    await message.answer(text)
    await send_card(message, session, webinar, user, role, locale, tz=editor.tz,
                    places=editor.places, now=editor.clock())


# --- cancel -------------------------------------------------------------------------------

@routes.callback_query(WebinarAdminCD.filter(F.action == "cancel"))
async def on_cancel(cb: CallbackQuery, callback_data: WebinarAdminCD) -> None:
    await cb.message.answer(_("Cancel this webinar? All registrants will be told."),
                            reply_markup=cancel_confirm_kb(callback_data.id))


@routes.callback_query(WebinarAdminCD.filter(F.action == "cancel_yes"))
async def on_cancel_confirmed(cb: CallbackQuery, callback_data: WebinarAdminCD,
                              session: AsyncSession, settings: Settings, i18n: PoI18n,
                              clock: Callable[[], datetime], user: UserInfo,
                              locale: str) -> None:
    webinar = await svc.get_webinar(session, callback_data.id)
    if not await svc.cancel_webinar(session, webinar, user, clock()):
        await cb.message.answer(_("This webinar has been cancelled."))
        return
    told = await notices.notify_cancelled(session, voice_of(settings, i18n), webinar)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(ngettext(
        "The webinar is cancelled; {n} registrant will be told.",
        "The webinar is cancelled; {n} registrants will be told.", told).format(
        n=fmt_int(told, locale)))


# --- registrants and the export -----------------------------------------------------------

@routes.callback_query(WebinarAdminCD.filter(F.action == "regs"))
async def on_registrants(cb: CallbackQuery, callback_data: WebinarAdminCD,
                         session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    webinar = await svc.get_webinar(session, callback_data.id)
    rows = await svc.registrants(session, webinar.id)
    await cb.message.answer(registrants_text(webinar, rows, places, locale))


@routes.callback_query(WebinarAdminCD.filter(F.action == "export"), flags=HEAVY_DB)
async def on_export(cb: CallbackQuery, callback_data: WebinarAdminCD, read_session: AsyncSession,
                    settings: Settings, places: PlaceDirectory, locale: str) -> None:
    await _send_export(cb.message, read_session, settings.tz, places, locale, callback_data.id)


@routes.message(Command("export_webinar"), flags=HEAVY_DB)
async def cmd_export_webinar(message: Message, command: CommandObject, read_session: AsyncSession,
                             settings: Settings, places: PlaceDirectory, locale: str) -> None:
    webinar_id = typed_int((command.args or "").strip().lstrip("№#"))
    if webinar_id is None:
        await message.answer(_("Please add the webinar number: /export_webinar 12 (the number "
                               "is shown on the webinar card)."))
        return
    await _send_export(message, read_session, settings.tz, places, locale, webinar_id)


async def _send_export(message: Message, session: AsyncSession, tz: tzinfo,
                       places: PlaceDirectory, locale: str, webinar_id: int) -> None:
    webinar = await svc.get_webinar(session, webinar_id)
    rows = await svc.registrants(session, webinar.id)
    stats = svc.registrant_stats(rows)
    headers = [_("Name"), _("Region"), _("District"), _("Organisation"), _("Role"),
               _("Registered at"), _("Attended at")]

    def region_name(rid: int | None) -> str:
        place = places.region(rid)
        return place.name(locale) if place else ""

    def district_name(did: int | None) -> str:
        place = places.district(did)
        return place.name(locale) if place else ""

    data = await asyncio.to_thread(  # thousands of rows: not on the event loop
        svc.registrants_xlsx, rows, headers, region_name, district_name,
        lambda role: labels.label(labels.ROLE, role), tz, _("Registrants"),
        str(labels.WAITING_FOR_GUARDIAN))
    await message.answer_document(
        BufferedInputFile(data, filename=f"webinar-{webinar.id}.xlsx"),
        caption=_("Webinar No. {id}: registered {n}, attended {m}.").format(
            id=webinar.id, n=stats.registered, m=stats.attended))
