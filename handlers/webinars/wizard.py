"""Staff: the /newwebinar wizard, from the titles to the preview, publishing and announcing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import WebinarWizCD
from bot.config import Settings
from bot.i18n import PoI18n, fmt_int
from bot.notices import webinars as notices
from bot.routing import Routes
from bot.services import webinars as svc
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.shared.errors import StaleButton
from handlers.shared.texts import error_text
from handlers.shared.voice import voice_of
from handlers.webinars.cards import send_card
from handlers.webinars.keyboards import audience_kb, preview_kb, wizard_button_kb
from handlers.webinars.steps import (
    ORDER,
    SKIP_VALUES,
    TEXT_STATES,
    NewWebinarSG,
    draft,
    next_step,
    parse_step,
)
from handlers.webinars.texts import PROMPTS, SKIP_BUTTONS, audience_sections, card_text

routes = Routes(__name__)


async def _prompt(message: Message, state: FSMContext, step: str, places: PlaceDirectory,
                  locale: str, tz: tzinfo) -> None:
    """Move the wizard to `step` and ask its question (or show the preview)."""
    await state.set_state(getattr(NewWebinarSG, step))
    if step == "preview":
        await _send_preview(message, state, places, locale, tz)
        return
    number = ORDER.index(step) + 1
    text = _("Step {n} of {total}.").format(n=number, total=len(ORDER) - 1) + " " + \
        str(PROMPTS[step])
    markup = None
    if step == "audience":
        markup = audience_kb(audience_sections(places, locale),
                             (await state.get_data()).get("audience", {}))
    elif step in SKIP_BUTTONS:
        markup = wizard_button_kb(str(SKIP_BUTTONS[step]), "skip")
    await message.answer(text, reply_markup=markup)


async def _send_preview(message: Message, state: FSMContext, places: PlaceDirectory,
                        locale: str, tz: tzinfo) -> None:
    webinar = draft(await state.get_data())
    text = _("Preview. This is how the webinar will look:") + "\n\n" + card_text(
        webinar, locale, tz, places, registered_count=None, reg=None, staff=True)
    if webinar.capacity:
        text += "\n" + _("Places: {n}").format(n=fmt_int(webinar.capacity, locale))
    await message.answer(text, reply_markup=preview_kb())


@routes.message(Command("newwebinar"))
async def cmd_newwebinar(message: Message, state: FSMContext, settings: Settings,
                         places: PlaceDirectory, locale: str) -> None:
    await state.clear()
    await message.answer(_("Let us create a webinar. You can stop at any time with /cancel."))
    await _prompt(message, state, "title_kk", places, locale, settings.tz)


@routes.message(StateFilter(*TEXT_STATES))
async def on_wizard_text(message: Message, state: FSMContext, settings: Settings,
                         places: PlaceDirectory, clock: Callable[[], datetime],
                         locale: str) -> None:
    step = (await state.get_state() or "").split(":")[-1]
    if (message.text or "").startswith("/"):
        await message.answer(_("Please answer the question above, or send /cancel to stop."))
        return
    values = parse_step(step, message.text, settings.tz, clock())
    await state.update_data(**values)
    await _prompt(message, state, next_step(step), places, locale, settings.tz)


@routes.callback_query(WebinarWizCD.filter(F.action == "skip"), StateFilter(*TEXT_STATES))
async def on_wizard_skip(cb: CallbackQuery, state: FSMContext, settings: Settings,
                         places: PlaceDirectory, locale: str) -> None:
    step = (await state.get_state() or "").split(":")[-1]
    if step not in SKIP_VALUES:
        await cb.answer()
        return
    await state.update_data(**SKIP_VALUES[step])
    await cb.message.edit_reply_markup(reply_markup=None)
    await _prompt(cb.message, state, next_step(step), places, locale, settings.tz)


@routes.callback_query(WebinarWizCD.filter(F.action == "aud"), NewWebinarSG.audience)
async def on_audience_toggle(cb: CallbackQuery, callback_data: WebinarWizCD, state: FSMContext,
                             places: PlaceDirectory, locale: str) -> None:
    audience: dict[str, list[str]] = (await state.get_data()).get("audience", {})
    sections = audience_sections(places, locale)
    if callback_data.value == "all":
        audience = {}
    elif "=" in callback_data.value:
        key, value = callback_data.value.split("=", 1)
        offered = dict(sections).get(key, [])
        # only a value its own section offers (a forged "regions=²" is no region; review I1)
        if value not in {option for option, _label in offered}:
            raise StaleButton()
        if key in svc.AUDIENCE_KEYS:
            chosen = audience.setdefault(key, [])
            if value in chosen:
                chosen.remove(value)
            else:
                chosen.append(value)
    await state.update_data(audience=audience)
    await cb.message.edit_reply_markup(reply_markup=audience_kb(sections, audience))


@routes.callback_query(WebinarWizCD.filter(F.action == "aud_done"), NewWebinarSG.audience)
async def on_audience_done(cb: CallbackQuery, state: FSMContext, settings: Settings,
                           places: PlaceDirectory, locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await _prompt(cb.message, state, "capacity", places, locale, settings.tz)


@routes.message(NewWebinarSG.audience)
@routes.message(NewWebinarSG.preview)
async def on_wizard_buttons_expected(message: Message) -> None:
    await message.answer(_("Please use the buttons above (or /cancel)."))


@routes.callback_query(WebinarWizCD.filter(F.action.in_({"publish", "announce"})),
                       NewWebinarSG.preview)
async def on_publish(cb: CallbackQuery, callback_data: WebinarWizCD, state: FSMContext,
                     session: AsyncSession, settings: Settings, i18n: PoI18n,
                     places: PlaceDirectory, clock: Callable[[], datetime], user: UserInfo,
                     role: str, locale: str) -> None:
    data = await state.get_data()
    webinar = draft(data)
    values = {c: getattr(webinar, c) for c in (
        "title_kk", "title_ru", "title_en", "description_kk", "description_ru",
        "description_en", "duration_min", "join_url", "speakers", "audience", "capacity",
        "reminder_offsets")}
    values["starts_at"] = data["starts_at"]
    now = clock()
    if webinar.starts_at <= now:  # the start passed while the draft waited: ask again
        await cb.message.answer(error_text(DomainError("wb_date_past")))
        await _prompt(cb.message, state, "starts_at", places, locale, settings.tz)
        return
    webinar = await svc.create_webinar(session, values, user, now)
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    text = _("✅ Published as webinar No. {id}.").format(id=webinar.id)
    if callback_data.action == "announce":
        count = await notices.announce(session, voice_of(settings, i18n), webinar)
        text += "\n" + ngettext("The announcement is queued for {n} person.",
                                "The announcement is queued for {n} people.",
                                count).format(n=fmt_int(count, locale))
    await cb.message.answer(text)
    await send_card(cb.message, session, webinar, user, role, locale, tz=settings.tz,
                    places=places, now=clock())


@routes.callback_query(WebinarWizCD.filter(F.action == "discard"))
async def on_discard(cb: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("The draft is discarded."))
