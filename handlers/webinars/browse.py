"""Webinars: /webinars and cards for participants; /newwebinar, edit, cancel, registrants and
/export_webinar for staff."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App
from bot.callbacks import WebinarAdminCD, WebinarCD, WebinarWizCD
from bot.i18n import fmt_dt, fmt_int
from bot.middlewares import HEAVY_DB
from bot.notices import webinars as notices
from bot.routing import Routes
from bot.services import webinars as svc
from bot.services.errors import DomainError
from bot.services.guardian import as_seen_by_others
from bot.services.ics import event_ics
from bot.services.numbers import as_int, typed_int
from bot.services.text import TEXT_LIMIT, seen_length, short_html, take_lines
from bot.services.users import STAFF, UserInfo
from db.models import Webinar, WebinarRegistration
from handlers.shared.texts import NAME_SHOWN, error_text
from handlers.webinars.keyboards import (
    audience_kb,
    cancel_confirm_kb,
    edit_fields_kb,
    preview_kb,
    webinar_card_kb,
    webinar_list_kb,
    wizard_button_kb,
)

routes = Routes(__name__)
logger = logging.getLogger(__name__)



class NewWebinarSG(StatesGroup):
    title_kk = State()
    title_ru = State()
    title_en = State()
    description_kk = State()
    description_ru = State()
    description_en = State()
    starts_at = State()
    duration = State()
    join_url = State()
    speakers = State()
    audience = State()
    capacity = State()
    offsets = State()
    preview = State()


class EditWebinarSG(StatesGroup):
    value = State()


ORDER = ("title_kk", "title_ru", "title_en", "description_kk", "description_ru",
         "description_en", "starts_at", "duration", "join_url", "speakers", "audience",
         "capacity", "offsets", "preview")
TEXT_STATES = [getattr(NewWebinarSG, s) for s in ORDER if s not in ("audience", "preview")]
SKIP_VALUES: dict[str, dict[str, Any]] = {
    "title_en": {"title_en": None},
    "description_en": {"description_en": None},
    "speakers": {"speakers": []},
    "capacity": {"capacity": None},
    "offsets": {"reminder_offsets": list(svc.DEFAULT_OFFSETS)},
}
PROMPTS = {
    "title_kk": __("Send the title in Kazakh."),
    "title_ru": __("Send the title in Russian."),
    "title_en": __("Send the title in English, or press “Skip” (the Russian one will be "
                   "shown instead)."),
    "description_kk": __("Send the description in Kazakh."),
    "description_ru": __("Send the description in Russian."),
    "description_en": __("Send the description in English, or press “Skip”."),
    "starts_at": __("When does it start? Type the date and time in Almaty time, for example "
                    "12.03.2026 15:00 or 2026-03-12 15:00."),
    "duration": __("How long will it last? Type minutes (90) or hours and minutes (1:30)."),
    "join_url": __("Send the link to join (Zoom, Teams, Meet…), starting with https://"),
    "speakers": __("List the speakers, one per line or separated by commas, or press "
                   "“Skip”."),
    "audience": __("Who is it for? Tick roles, organisation types, factions, positions and "
                   "regions; with nothing ticked it is for everyone. Then press “Done”."),
    "capacity": __("Is the number of places limited? Type a number, or press “No limit”."),
    "offsets": __("When should registrants be reminded? Type times before the start, for "
                  "example 24h, 1h, 0 (0 = at the start), or press “Default”."),
}
SKIP_BUTTONS = {
    "title_en": __("Skip ➡️"),
    "description_en": __("Skip ➡️"),
    "speakers": __("Skip ➡️"),
    "capacity": __("No limit"),
    "offsets": __("Default: 24 h, 1 h and at the start"),
}
EDIT_FIELDS = {
    "starts_at": __("🕒 Date and time"),
    "duration": __("⏱ Duration"),
    "join_url": __("🔗 Link"),
    "capacity": __("👥 Places"),
    "offsets": __("⏰ Reminders"),
}


def parse_step(step: str, text: str | None, app: App) -> dict[str, Any]:
    """One wizard (or edit) answer → FSM data; raises DomainError with a reason."""
    if step.startswith("title_"):
        return {step: svc.check_text(text, "wb_title", svc.TITLE_LEN)}
    if step.startswith("description_"):
        return {step: svc.check_text(text, "wb_description", svc.DESCRIPTION_LEN)}
    if step == "starts_at":
        moment = svc.parse_local_datetime(text, app.settings.tz, app.now())
        return {"starts_at": moment.isoformat()}
    if step == "duration":
        return {"duration_min": svc.parse_duration(text)}
    if step == "join_url":
        return {"join_url": svc.parse_url(text)}
    if step == "speakers":
        return {"speakers": svc.parse_speakers(text)}
    if step == "capacity":
        return {"capacity": svc.parse_capacity(text)}
    if step == "offsets":
        return {"reminder_offsets": svc.parse_offsets(text)}
    raise DomainError("bad_field")


# --- rendering --------------------------------------------------------------------------

def duration_text(minutes: int) -> str:
    return _("{n} min").format(n=minutes)


def offsets_text(offsets: list[int]) -> str:
    parts = []
    for minutes in offsets:
        if minutes == 0:
            parts.append(_("at the start"))
        elif minutes >= 2880 and minutes % 1440 == 0:
            parts.append(_("{n} d").format(n=minutes // 1440))
        elif minutes % 60 == 0:
            parts.append(_("{n} h").format(n=minutes // 60))
        elif minutes > 60:
            parts.append(_("{h} h {m} min").format(h=minutes // 60, m=minutes % 60))
        else:
            parts.append(_("{n} min").format(n=minutes))
    return ", ".join(parts) or "—"


def audience_text(audience: dict[str, list], app: App, locale: str) -> str:
    aud = svc.clean_audience(audience)
    if not aud:
        return _("everyone")
    tables = {"roles": labels.ROLE, "org_types": labels.ORG_TYPE, "factions": labels.FACTION,
              "positions": labels.POSITION}
    parts = []
    for key in svc.AUDIENCE_KEYS:
        if key not in aud:
            continue
        if key == "regions":
            names = [html.escape(p.name(locale)) for r in aud[key]
                     if (p := app.places.region_from(str(r)))]
        else:
            names = [labels.label(tables[key], v) for v in aud[key]]
        parts.append(", ".join(names))
    return "; ".join(parts)


def card_text(w: Webinar, app: App, locale: str, *, registered_count: int | None,
              reg: WebinarRegistration | None, staff: bool) -> str:
    lines = [f"<b>{html.escape(w.text('title', locale))}</b>"]
    if staff and w.id:
        lines[0] += " · " + _("No. {id}").format(id=w.id)
    if w.status == "cancelled":
        lines.append(_("❌ Cancelled"))
    lines.append(_("📅 {when} (Almaty time) · {duration}").format(
        when=fmt_dt(w.starts_at, locale, app.settings.tz), duration=duration_text(w.duration_min)))
    if w.speakers:
        lines.append(_("🎤 Speakers ({n}): {names}").format(
            n=len(w.speakers), names=html.escape(", ".join(w.speakers))))
    if registered_count is not None:
        if w.capacity:
            lines.append(_("👥 Registered: {n} of {cap} places").format(
                n=fmt_int(registered_count, locale), cap=fmt_int(w.capacity, locale)))
        else:
            lines.append(_("👥 Registered: {n}").format(n=fmt_int(registered_count, locale)))
    lines += ["", html.escape(w.text("description", locale))]
    if staff:
        lines += ["", _("Link: {url}").format(url=html.escape(w.join_url)),
                  _("Audience: {audience}").format(audience=audience_text(w.audience, app,
                                                                          locale)),
                  _("Reminders before the start: {offsets}").format(
                      offsets=offsets_text(w.reminder_offsets))]
    if reg is not None and reg.status == "registered":
        lines += ["", _("✅ You are registered.")]
        if reg.attended_at is not None:
            lines.append(_("✋ Your attendance is recorded."))
    return "\n".join(lines)


async def send_card(message: Message, session: AsyncSession, app: App, user: UserInfo,
                    role: str, locale: str, webinar: Webinar) -> None:
    now = app.now()
    staff = role == STAFF
    reg = await svc.registration_of(session, webinar.id, user.id)
    registered = reg is not None and reg.status == "registered"
    count = await svc.registered_count(session, webinar.id)
    open_ = webinar.status == "published" and svc.ends_at(webinar) > now
    here = (registered and webinar.status == "published" and svc.in_window(webinar, now)
            and reg.attended_at is None)
    text = card_text(webinar, app, locale, registered_count=count, reg=reg, staff=staff)
    kb = webinar_card_kb(webinar.id, registered=registered, open_=open_, here=here,
                         join_url=webinar.join_url if registered and open_ else None,
                         staff=staff)
    await message.answer(text, reply_markup=kb)


async def _visible_webinar(session: AsyncSession, webinar_id: int, user: UserInfo,
                           role: str) -> Webinar:
    webinar = await svc.get_webinar(session, webinar_id)
    if role != STAFF and not svc.audience_matches(webinar.audience, user):
        raise DomainError("not_found")
    return webinar


# --- participants -----------------------------------------------------------------------

@routes.message(Command("webinars"))
async def cmd_webinars(message: Message, session: AsyncSession, app: App, user: UserInfo,
                       role: str, locale: str) -> None:
    viewer = user if role != STAFF else _as_staff(user)
    items = await svc.upcoming(session, viewer, app.now())
    if not items:
        await message.answer(_("There are no upcoming webinars for you right now. We will "
                               "let you know when one is planned."))
        return
    lines = [_("<b>Upcoming webinars</b> (Almaty time):"), ""]
    buttons = []
    for w in items:
        when = fmt_dt(w.starts_at, locale, app.settings.tz)
        title = w.text("title", locale)
        lines.append(f"• {when} — {html.escape(title)}")
        short = w.starts_at.astimezone(app.settings.tz).strftime("%d.%m %H:%M")
        buttons.append((w.id, f"{short} · {title}"))
    lines += ["", _("Choose a webinar to see details and register.")]
    await message.answer("\n".join(lines), reply_markup=webinar_list_kb(buttons))


def _as_staff(user: UserInfo) -> UserInfo:
    from dataclasses import replace

    return replace(user, role=STAFF)


@routes.callback_query(WebinarCD.filter(F.action == "open"))
async def on_open(cb: CallbackQuery, callback_data: WebinarCD, session: AsyncSession, app: App,
                  user: UserInfo, role: str, locale: str) -> None:
    try:
        webinar = await _visible_webinar(session, callback_data.id, user, role)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await send_card(cb.message, session, app, user, role, locale, webinar)


@routes.callback_query(WebinarCD.filter(F.action.in_({"reg", "unreg", "here"})))
async def on_participant_action(cb: CallbackQuery, callback_data: WebinarCD,
                                session: AsyncSession, app: App, user: UserInfo, role: str,
                                locale: str) -> None:
    now = app.now()
    try:
        webinar = await _visible_webinar(session, callback_data.id, user, role)
        member = _as_staff(user) if role == STAFF else user
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
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await cb.message.answer(text)
    if callback_data.action != "here":
        await send_card(cb.message, session, app, user, role, locale, webinar)


@routes.callback_query(WebinarCD.filter(F.action == "ics"))
async def on_calendar(cb: CallbackQuery, callback_data: WebinarCD, session: AsyncSession,
                      app: App, user: UserInfo, role: str, locale: str) -> None:
    try:
        webinar = await _visible_webinar(session, callback_data.id, user, role)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    data = webinar_ics(webinar, app, locale)
    await cb.message.answer_document(
        BufferedInputFile(data, filename=f"webinar-{webinar.id}.ics"),
        caption=_("Open this file to add the webinar to your calendar."))


def webinar_ics(webinar: Webinar, app: App, locale: str) -> bytes:
    description = webinar.text("description", locale) + "\n\n" + webinar.join_url
    return event_ics(uid=f"webinar-{webinar.id}@mektep-parliament-bot",
                     title=webinar.text("title", locale), description=description,
                     starts_at=webinar.starts_at, ends_at=svc.ends_at(webinar),
                     url=webinar.join_url, tz=app.settings.tz, stamp=app.now(),
                     sequence=webinar.sequence, cancelled=webinar.status == "cancelled")


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


# --- staff: the /newwebinar wizard ------------------------------------------------------

async def _prompt(message: Message, state: FSMContext, step: str, app: App,
                  locale: str) -> None:
    await state.set_state(getattr(NewWebinarSG, step))
    if step == "preview":
        await _send_preview(message, state, app, locale)
        return
    number = ORDER.index(step) + 1
    text = _("Step {n} of {total}.").format(n=number, total=len(ORDER) - 1) + " " + \
        str(PROMPTS[step])
    markup = None
    if step == "audience":
        markup = audience_kb(_audience_sections(app, locale),
                             (await state.get_data()).get("audience", {}))
    elif step in SKIP_BUTTONS:
        markup = wizard_button_kb(str(SKIP_BUTTONS[step]), "skip")
    await message.answer(text, reply_markup=markup)


def _next_step(step: str) -> str:
    return ORDER[ORDER.index(step) + 1]


def _audience_sections(app: App, locale: str) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        ("roles", [(k, str(labels.ROLE[k])) for k in ("student", "coordinator")]),
        ("org_types", [(k, str(v)) for k, v in labels.ORG_TYPE.items()]),
        ("factions", [(k, str(v)) for k, v in labels.FACTION.items()]),
        ("positions", [(k, str(v)) for k, v in labels.POSITION.items()]),
        ("regions", [(str(p.id), p.name(locale)) for p in app.places.regions]),
    ]


@routes.message(Command("newwebinar"))
async def cmd_newwebinar(message: Message, state: FSMContext, app: App, locale: str) -> None:
    await state.clear()
    await message.answer(_("Let us create a webinar. You can stop at any time with /cancel."))
    await _prompt(message, state, "title_kk", app, locale)


@routes.message(StateFilter(*TEXT_STATES))
async def on_wizard_text(message: Message, state: FSMContext, app: App, locale: str) -> None:
    step = (await state.get_state() or "").split(":")[-1]
    if (message.text or "").startswith("/"):
        await message.answer(_("Please answer the question above, or send /cancel to stop."))
        return
    try:
        values = parse_step(step, message.text, app)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.update_data(**values)
    await _prompt(message, state, _next_step(step), app, locale)


@routes.callback_query(WebinarWizCD.filter(F.action == "skip"), StateFilter(*TEXT_STATES))
async def on_wizard_skip(cb: CallbackQuery, state: FSMContext, app: App, locale: str) -> None:
    step = (await state.get_state() or "").split(":")[-1]
    if step not in SKIP_VALUES:
        await cb.answer()
        return
    await state.update_data(**SKIP_VALUES[step])
    await cb.message.edit_reply_markup(reply_markup=None)
    await _prompt(cb.message, state, _next_step(step), app, locale)


@routes.callback_query(WebinarWizCD.filter(F.action == "aud"), NewWebinarSG.audience)
async def on_audience_toggle(cb: CallbackQuery, callback_data: WebinarWizCD, state: FSMContext,
                             app: App, locale: str) -> None:
    audience: dict[str, list[str]] = (await state.get_data()).get("audience", {})
    sections = _audience_sections(app, locale)
    if callback_data.value == "all":
        audience = {}
    elif "=" in callback_data.value:
        key, value = callback_data.value.split("=", 1)
        offered = dict(sections).get(key, [])
        # only a value its own section offers (a forged "regions=²" is no region; review I1)
        if value not in {option for option, _label in offered}:
            await cb.answer(_("This button is no longer active."), show_alert=True)
            return
        if key in svc.AUDIENCE_KEYS:
            chosen = audience.setdefault(key, [])
            if value in chosen:
                chosen.remove(value)
            else:
                chosen.append(value)
    await state.update_data(audience=audience)
    await cb.message.edit_reply_markup(reply_markup=audience_kb(sections, audience))


@routes.callback_query(WebinarWizCD.filter(F.action == "aud_done"), NewWebinarSG.audience)
async def on_audience_done(cb: CallbackQuery, state: FSMContext, app: App, locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await _prompt(cb.message, state, "capacity", app, locale)


@routes.message(NewWebinarSG.audience)
@routes.message(NewWebinarSG.preview)
async def on_wizard_buttons_expected(message: Message) -> None:
    await message.answer(_("Please use the buttons above (or /cancel)."))


def _draft(data: dict[str, Any]) -> Webinar:
    audience = {k: ([n for x in v if (n := as_int(str(x))) is not None] if k == "regions"
                    else list(v))
                for k, v in svc.clean_audience(data.get("audience")).items()}
    return Webinar(
        id=None, title_kk=data["title_kk"], title_ru=data["title_ru"],
        title_en=data.get("title_en"), description_kk=data["description_kk"],
        description_ru=data["description_ru"], description_en=data.get("description_en"),
        starts_at=datetime.fromisoformat(data["starts_at"]),
        duration_min=data["duration_min"], join_url=data["join_url"],
        speakers=data.get("speakers") or [], audience=audience,
        capacity=data.get("capacity"),
        reminder_offsets=data.get("reminder_offsets") or list(svc.DEFAULT_OFFSETS),
        status="published", sequence=0)


async def _send_preview(message: Message, state: FSMContext, app: App, locale: str) -> None:
    draft = _draft(await state.get_data())
    text = _("Preview. This is how the webinar will look:") + "\n\n" + card_text(
        draft, app, locale, registered_count=None, reg=None, staff=True)
    if draft.capacity:
        text += "\n" + _("Places: {n}").format(n=fmt_int(draft.capacity, locale))
    await message.answer(text, reply_markup=preview_kb())


@routes.callback_query(WebinarWizCD.filter(F.action.in_({"publish", "announce"})),
                       NewWebinarSG.preview)
async def on_publish(cb: CallbackQuery, callback_data: WebinarWizCD, state: FSMContext,
                     session: AsyncSession, app: App, user: UserInfo, role: str,
                     locale: str) -> None:
    data = await state.get_data()
    draft = _draft(data)
    values = {c: getattr(draft, c) for c in (
        "title_kk", "title_ru", "title_en", "description_kk", "description_ru",
        "description_en", "duration_min", "join_url", "speakers", "audience", "capacity",
        "reminder_offsets")}
    values["starts_at"] = data["starts_at"]
    try:
        webinar = await svc.create_webinar(session, values, user, app.now())
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        await _prompt(cb.message, state, "starts_at", app, locale)
        return
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    text = _("✅ Published as webinar No. {id}.").format(id=webinar.id)
    if callback_data.action == "announce":
        count = await notices.announce(session, app.voice, webinar)
        text += "\n" + _("The announcement is queued for {n} people.").format(
            n=fmt_int(count, locale))
    await cb.message.answer(text)
    await send_card(cb.message, session, app, user, role, locale, webinar)


@routes.callback_query(WebinarWizCD.filter(F.action == "discard"))
async def on_discard(cb: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("The draft is discarded."))


# --- staff: edit, cancel, registrants, export -------------------------------------------

@routes.callback_query(WebinarAdminCD.filter(F.action == "edit"))
async def on_edit(cb: CallbackQuery, callback_data: WebinarAdminCD, session: AsyncSession) -> None:
    try:
        webinar = await svc.get_webinar(session, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
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
async def on_edit_value(message: Message, state: FSMContext, session: AsyncSession, app: App,
                        user: UserInfo, role: str, locale: str) -> None:
    field = (await state.get_data()).get("field", "")
    await _save_edit(message, state, session, app, user, role, locale,
                     lambda: parse_step(field, message.text, app))


@routes.callback_query(WebinarWizCD.filter(F.action == "skip"), EditWebinarSG.value)
async def on_edit_skip(cb: CallbackQuery, state: FSMContext, session: AsyncSession, app: App,
                       user: UserInfo, role: str, locale: str) -> None:
    field = (await state.get_data()).get("field", "")
    if field not in SKIP_VALUES:
        await cb.answer()
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await _save_edit(cb.message, state, session, app, user, role, locale,
                     lambda: dict(SKIP_VALUES[field]))


async def _save_edit(message: Message, state: FSMContext, session: AsyncSession, app: App,
                     user: UserInfo, role: str, locale: str,
                     read_values: Callable[[], dict[str, Any]]) -> None:
    data = await state.get_data()
    field, now = data.get("field", ""), app.now()
    try:
        webinar = await svc.get_webinar(session, int(data.get("webinar_id", 0)))
        values = read_values()
        if field == "starts_at":
            old_start = webinar.starts_at
            moved = await svc.change_time(session, webinar,
                                          datetime.fromisoformat(values["starts_at"]), now)
            told = await notices.notify_time_change(session, app.voice, webinar, old_start) \
                if moved else 0
        else:
            (column, value), = values.items()
            await svc.update_field(session, webinar, column, value, now)
            told = None
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    text = _("Saved.")
    if told is not None:
        text += " " + _("{n} registrants will be told about the new time.").format(
            n=fmt_int(told, locale))
    await message.answer(text)
    await send_card(message, session, app, user, role, locale, webinar)


@routes.callback_query(WebinarWizCD.filter())  # after every handler of these buttons
async def on_stale_wizard_button(cb: CallbackQuery) -> None:
    await cb.answer(_("This button is no longer active."), show_alert=True)


@routes.callback_query(WebinarAdminCD.filter(F.action == "cancel"))
async def on_cancel(cb: CallbackQuery, callback_data: WebinarAdminCD) -> None:
    await cb.message.answer(_("Cancel this webinar? All registrants will be told."),
                            reply_markup=cancel_confirm_kb(callback_data.id))


@routes.callback_query(WebinarAdminCD.filter(F.action == "cancel_yes"))
async def on_cancel_confirmed(cb: CallbackQuery, callback_data: WebinarAdminCD,
                              session: AsyncSession, app: App, user: UserInfo,
                              locale: str) -> None:
    try:
        webinar = await svc.get_webinar(session, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    if not await svc.cancel_webinar(session, webinar, user, app.now()):
        await cb.message.answer(_("This webinar has been cancelled."))
        return
    told = await notices.notify_cancelled(session, app.voice, webinar)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("The webinar is cancelled; {n} registrants will be told.").format(
        n=fmt_int(told, locale)))


@routes.callback_query(WebinarAdminCD.filter(F.action == "regs"))
async def on_registrants(cb: CallbackQuery, callback_data: WebinarAdminCD,
                         session: AsyncSession, app: App, locale: str) -> None:
    try:
        webinar = await svc.get_webinar(session, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    rows = await svc.registrants(session, webinar.id)
    stats = svc.registrant_stats(rows)
    lines = [f"<b>{html.escape(webinar.text('title', locale))}</b>",
             _("Registered: {n}, attended: {m}.").format(n=fmt_int(stats.registered, locale),
                                                         m=fmt_int(stats.attended, locale))]
    if stats.by_region:
        lines += ["", _("By region (registered / attended):")]
        for region_id, registered, attended in stats.by_region:
            place = app.places.region(region_id)
            name = place.name(locale) if place else _("no region")
            lines.append(f"• {html.escape(name)}: {registered} / {attended}")
    if rows:
        lines += ["", _("Registrants:")]
        def mark(reg: WebinarRegistration) -> str:
            return "✋" if reg.attended_at else "•"

        names = [f"{mark(reg)} {short_html(name, NAME_SHOWN)}" for user, reg in rows[:50]
                 for name, _org in (as_seen_by_others(user.limited, user.full_name, None,
                                                      str(labels.WAITING_FOR_GUARDIAN)),)]
        hidden = len(rows) - len(names)

        def more(n: int) -> str:
            return _("…and {n} more: /export_webinar {id}").format(n=n + hidden, id=webinar.id)

        shown = take_lines(names, TEXT_LIMIT - seen_length("\n".join(lines)) - 10, more)
        if hidden and len(shown) == len(names):
            shown.append(more(0))
        lines += shown
    await cb.message.answer("\n".join(lines))


@routes.callback_query(WebinarAdminCD.filter(F.action == "export"), flags=HEAVY_DB)
async def on_export(cb: CallbackQuery, callback_data: WebinarAdminCD, read_session: AsyncSession,
                    app: App, locale: str) -> None:
    await _send_export(cb.message, read_session, app, locale, callback_data.id)


@routes.message(Command("export_webinar"), flags=HEAVY_DB)
async def cmd_export_webinar(message: Message, command: CommandObject, read_session: AsyncSession,
                             app: App, locale: str) -> None:
    try:
        webinar_id = typed_int((command.args or "").strip().lstrip("№#"))
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    if webinar_id is None:
        await message.answer(_("Please add the webinar number: /export_webinar 12 (the number "
                               "is shown on the webinar card)."))
        return
    await _send_export(message, read_session, app, locale, webinar_id)


async def _send_export(message: Message, session: AsyncSession, app: App, locale: str,
                       webinar_id: int) -> None:
    try:
        webinar = await svc.get_webinar(session, webinar_id)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    rows = await svc.registrants(session, webinar.id)
    stats = svc.registrant_stats(rows)
    headers = [_("Name"), _("Region"), _("District"), _("Organisation"), _("Role"),
               _("Registered at"), _("Attended at")]

    def region_name(rid: int | None) -> str:
        place = app.places.region(rid)
        return place.name(locale) if place else ""

    def district_name(did: int | None) -> str:
        place = app.places.district(did)
        return place.name(locale) if place else ""

    data = await asyncio.to_thread(  # thousands of rows: not on the event loop
        svc.registrants_xlsx, rows, headers, region_name, district_name,
        lambda role: labels.label(labels.ROLE, role), app.settings.tz, _("Registrants"),
        str(labels.WAITING_FOR_GUARDIAN))
    await message.answer_document(
        BufferedInputFile(data, filename=f"webinar-{webinar.id}.xlsx"),
        caption=_("Webinar No. {id}: registered {n}, attended {m}.").format(
            id=webinar.id, n=stats.registered, m=stats.attended))
