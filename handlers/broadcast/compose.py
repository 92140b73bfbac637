"""/broadcast (compose → audience → confirmation → preview → send or schedule), /broadcasts,
acknowledgements, nudges and the cascade. What recipients and authors are sent, and the tick
that starts and reports broadcasts, are bot.notices.broadcasts."""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App
from bot.callbacks import BroadcastAckCD, BroadcastCD, BroadcastFwdCD
from bot.delivery import markup_of, send_outgoing
from bot.i18n import fmt_dt, fmt_int
from bot.notices import Voice
from bot.notices import broadcasts as notices
from bot.notices.broadcasts import ACK_LABELS
from bot.routing import Routes
from bot.services import broadcasts as svc
from bot.services.activity import log_activity
from bot.services.delivery import OutgoingMessage
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.text import TEXT_LIMIT, short_html, take_lines
from bot.services.users import UserInfo
from db.models import Broadcast
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, error_text, more_text

routes = Routes(__name__)
logger = logging.getLogger(__name__)


ALBUM_KINDS = ("photo", "video", "document", "audio")
SINGLE_KINDS = ("photo", "video", "document", "animation", "audio", "voice")


class BroadcastSG(StatesGroup):
    content = State()
    audience = State()
    ack = State()
    confirm = State()
    when = State()


def here(app: App) -> tuple[Voice, str]:
    """The notices' voice and the locale this update is answered in."""
    return app.voice, app.i18n.current_locale


# --- content ------------------------------------------------------------------------------
def _entities(items: Any) -> list[dict[str, Any]] | None:
    return [e.model_dump(exclude_none=True, mode="json") for e in items] if items else None


def media_of(message: Message) -> tuple[str, str] | None:
    """(kind, file_id) of a media message."""
    if message.photo:
        return "photo", message.photo[-1].file_id
    for kind in SINGLE_KINDS[1:]:
        item = getattr(message, kind, None)
        if item is not None:
            return kind, item.file_id
    return None


def content_of(message: Message) -> dict[str, Any] | None:
    """What to send, copied out of the message (not a reference to it)."""
    if message.text:
        preview = message.link_preview_options
        return {"kind": "text", "text": message.text, "entities": _entities(message.entities),
                "link_preview": not (preview and preview.is_disabled)}
    media = media_of(message)
    if media is None:
        return None
    kind, file_id = media
    if message.media_group_id:
        if kind not in ALBUM_KINDS:
            return None
        return {"kind": "album", "group": message.media_group_id,
                "media": [album_item(message, kind, file_id)]}
    return {"kind": kind, "file_id": file_id, "text": message.caption,
            "entities": _entities(message.caption_entities)}


def album_item(message: Message, kind: str, file_id: str) -> dict[str, Any]:
    return {"kind": kind, "file_id": file_id, "caption": message.caption,
            "entities": _entities(message.caption_entities)}


# --- texts --------------------------------------------------------------------------------
# --- keyboards ----------------------------------------------------------------------------
def cd(action: str, value: str = "") -> str:
    return BroadcastCD(action=action, value=value.replace(":", ".")).pack()


def audience_kb(user: UserInfo, data: dict[str, Any], app: App) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Everyone"), callback_data=cd("aud", "all"))
    kb.button(text=_("Students"), callback_data=cd("aud", "students"))
    kb.button(text=_("Coordinators"), callback_data=cd("aud", "coordinators"))
    kb.button(text=_("By organisation type ▸"), callback_data=cd("menu", "org"))
    kb.button(text=_("By faction ▸"), callback_data=cd("menu", "faction"))
    kb.button(text=_("By position ▸"), callback_data=cd("menu", "position"))
    sizes = [3, 3]
    for provider in svc.PROVIDERS.values():
        if provider.options is None:
            kb.button(text=_(provider.label), callback_data=cd("aud", provider.name))
        else:
            kb.button(text=f"{_(provider.label)} ▸",
                      callback_data=cd("menu", "p." + provider.name))
        sizes.append(1)
    if user.role == "staff" or user.coordinator_level == "regional":
        # a regional coordinator's "everywhere" is their region, never the country
        region_id = data.get("region_id") or (user.region_id if user.role != "staff" else None)
        area = notices.area_label(app.voice, app.places, user.locale, region_id,
                                  data.get("district_id"))
        kb.button(text=_("📍 Area: {area} ▸").format(area=area), callback_data=cd("area"))
        sizes.append(1)
    kb.button(text=_("✖ Cancel"), callback_data=cd("quit"))
    sizes.append(1)
    kb.adjust(*sizes)
    return kb.as_markup()


def submenu_kb(options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for audience, title in options:
        kb.button(text=title, callback_data=cd("aud", audience))
    kb.button(text=_("« Back"), callback_data=cd("menu", "back"))
    kb.adjust(1)
    return kb.as_markup()


def ack_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("No confirmation"), callback_data=cd("ack", "none"))
    kb.button(text=_(ACK_LABELS["received"]), callback_data=cd("ack", "received"))
    kb.button(text=_(ACK_LABELS["done"]), callback_data=cd("ack", "done"))
    kb.adjust(1, 2)
    return kb.as_markup()


def confirm_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🚀 Send now"), callback_data=cd("send"))
    kb.button(text=_("🕒 Schedule"), callback_data=cd("sched"))
    kb.button(text=_("✖ Cancel"), callback_data=cd("quit"))
    kb.adjust(2, 1)
    return kb.as_markup()


# --- the compose flow ---------------------------------------------------------------------
def scope_for(user: UserInfo, data: dict[str, Any], app: App) -> svc.Scope:
    """The author's scope, narrowed to the chosen area (checked again every time)."""
    scope = svc.scope_of(user)
    district_id = data.get("district_id")
    place = app.places.district(district_id) if district_id else None
    return svc.narrow(scope, data.get("region_id"), district_id,
                      place.region_id if place else None)


async def begin(message: Message, state: FSMContext, session: AsyncSession, app: App,
                user: UserInfo, seed: dict[str, Any]) -> None:
    svc.scope_of(user)
    await svc.check_daily_limit(session, user, app.settings.broadcasts_per_day, app.now(),
                                app.settings.tz)
    await state.clear()
    await state.set_data(seed)
    if "content" in seed:
        await state.set_state(BroadcastSG.audience)
        await message.answer(_("Forward to your people: who should receive it?"),
                             reply_markup=audience_kb(user, seed, app))
        return
    await state.set_state(BroadcastSG.content)
    await message.answer(_("Send me the announcement: text, a photo, a video, a document or "
                           "an album. Recipients will see it exactly as you send it.\n"
                           "/cancel to stop."))


@routes.message(Command("broadcast"))
async def cmd_broadcast(message: Message, state: FSMContext, session: AsyncSession, app: App,
                        user: UserInfo) -> None:
    try:
        await begin(message, state, session, app, user, {})
    except DomainError as exc:
        await message.answer(error_text(exc))


@routes.message(BroadcastSG.content)
async def on_content(message: Message, state: FSMContext, app: App, user: UserInfo) -> None:
    if (message.text or "").startswith("/"):
        await message.answer(_("Send the announcement itself, not a command, or /cancel to "
                               "stop."))
        return
    content = content_of(message)
    if content is None:
        await message.answer(_("This kind of message cannot be announced. Send text, a photo, "
                               "a video, a document or an album."))
        return
    await state.update_data(content=content)
    await state.set_state(BroadcastSG.audience)
    data = await state.get_data()
    await message.answer(_("Who should receive it?"), reply_markup=audience_kb(user, data, app))


@routes.message(StateFilter(BroadcastSG.audience, BroadcastSG.ack, BroadcastSG.confirm),
                F.media_group_id)
async def on_album_part(message: Message, state: FSMContext) -> None:
    """The other parts of an album arrive as separate messages: add them silently."""
    data = await state.get_data()
    content = data.get("content") or {}
    media = media_of(message)
    if content.get("group") != message.media_group_id or media is None or \
            media[0] not in ALBUM_KINDS:
        return
    content["media"].append(album_item(message, *media))
    await state.update_data(content=content)


@routes.message(StateFilter(BroadcastSG.audience, BroadcastSG.ack, BroadcastSG.confirm))
async def on_stray_message(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or /cancel to stop."))


@routes.callback_query(BroadcastCD.filter(F.action == "menu"))
async def on_menu(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                  session: AsyncSession, app: App, user: UserInfo) -> None:
    if await state.get_state() != BroadcastSG.audience.state:
        await cb.answer(_("This button is no longer active."))
        return
    value = callback_data.value
    tables = {"org": ("org", labels.ORG_TYPE), "faction": ("faction", labels.FACTION),
              "position": ("position", labels.POSITION)}
    data = await state.get_data()
    if value in tables:
        prefix, table = tables[value]
        options = [(f"{prefix}:{k}", str(v)) for k, v in table.items()]
    elif value.startswith("p.") and (provider := svc.PROVIDERS.get(value[2:])) and \
            provider.options:
        try:
            scope = scope_for(user, data, app)
        except DomainError as exc:
            await cb.answer(error_text(exc), show_alert=True)
            return
        options = [(f"{provider.name}:{k}", t)
                   for k, t in await provider.choices(session, scope, user.locale)]
        if not options:
            await cb.answer(_("Nothing to choose from yet."), show_alert=True)
            return
    else:
        await cb.message.edit_reply_markup(reply_markup=audience_kb(user, data, app))
        return
    await cb.message.edit_reply_markup(reply_markup=submenu_kb(options))


@routes.callback_query(BroadcastCD.filter(F.action == "area"))
async def on_area(cb: CallbackQuery, state: FSMContext, app: App, user: UserInfo) -> None:
    if await state.get_state() != BroadcastSG.audience.state:
        await cb.answer(_("This button is no longer active."))
        return
    kb = InlineKeyboardBuilder()
    if user.role == "staff":
        kb.button(text=_("The whole country"), callback_data=cd("place", "all"))
        for place in app.places.regions:
            kb.button(text=place.name(user.locale), callback_data=cd("place", f"r{place.id}"))
    elif user.coordinator_level == "regional":
        region = app.places.region(user.region_id or 0)  # "whole region" misnames a city
        kb.button(text=region.name(user.locale) if region else _("The whole region"),
                  callback_data=cd("place", "all"))
        for place in app.places.districts.get(user.region_id or 0, []):
            kb.button(text=place.name(user.locale), callback_data=cd("place", f"d{place.id}"))
    kb.adjust(2)
    await cb.message.edit_reply_markup(reply_markup=kb.as_markup())


@routes.callback_query(BroadcastCD.filter(F.action == "place"))
async def on_place(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext, app: App,
                   user: UserInfo) -> None:
    if await state.get_state() != BroadcastSG.audience.state:
        await cb.answer(_("This button is no longer active."))
        return
    value = callback_data.value
    area: dict[str, Any] = {"region_id": None, "district_id": None}
    number = as_int(value[1:])
    if value.startswith("r") and number is not None:
        area["region_id"] = number
    elif value.startswith("d") and number is not None:
        area["district_id"] = number
    elif value != "all":
        await cb.answer(error_text(DomainError("bc_out_of_scope")), show_alert=True)
        return
    try:
        scope_for(user, area, app)  # a forged place outside the scope stops here
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    await state.update_data(**area)
    data = await state.get_data()
    await cb.message.edit_reply_markup(reply_markup=audience_kb(user, data, app))


@routes.callback_query(BroadcastCD.filter(F.action == "aud"))
async def on_audience(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                      session: AsyncSession, app: App, user: UserInfo) -> None:
    if await state.get_state() != BroadcastSG.audience.state:
        await cb.answer(_("This button is no longer active."))
        return
    audience = callback_data.value.replace(".", ":", 1)
    data = await state.get_data()
    try:
        scope = scope_for(user, data, app)
        count = await svc.count_people(session, scope, audience, user.id)
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    if not count:
        await cb.answer(_("Nobody in this audience yet. Choose another one."), show_alert=True)
        return
    await state.update_data(audience=audience)
    await state.set_state(BroadcastSG.ack)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Ask the recipients to confirm with a button? You will see who "
                              "has and who has not."), reply_markup=ack_kb())


@routes.callback_query(BroadcastCD.filter(F.action == "ack"))
async def on_ack_choice(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                        session: AsyncSession, app: App, user: UserInfo) -> None:
    if await state.get_state() != BroadcastSG.ack.state:
        await cb.answer(_("This button is no longer active."))
        return
    ack = callback_data.value if callback_data.value in svc.ACK_KINDS else None
    await state.update_data(ack=ack)
    await state.set_state(BroadcastSG.confirm)
    await cb.message.edit_reply_markup(reply_markup=None)
    await show_preview(cb.message, state, session, app, user)


async def show_preview(message: Message, state: FSMContext, session: AsyncSession, app: App,
                       user: UserInfo) -> None:
    data = await state.get_data()
    scope = scope_for(user, data, app)
    count = await svc.count_people(session, scope, data["audience"], user.id)
    content = data["content"]
    voice, locale = here(app)
    rows = notices.button_rows(voice, locale, 0, data.get("ack"), False)
    for row in rows:  # the preview's buttons do nothing
        for button in row:
            button.callback_data = cd("noop")
    await message.answer(_("Preview — exactly what the recipients will see:"))
    await send_outgoing(message.bot, message.chat.id, notices.message_of(content, rows))
    if content["kind"] == "album" and rows:
        await message.answer(notices.followup_text(voice, locale, data.get("ack")),
                             reply_markup=markup_of(OutgoingMessage(buttons=rows)))
    ack = data.get("ack")
    summary = [
        _("Audience: {audience}").format(
            audience=notices.audience_label(voice, locale, data["audience"])),
        _("Area: {area}").format(area=html.escape(notices.area_label(
            voice, app.places, user.locale, scope.region_id, scope.district_id))),
        _("Recipients: {n}").format(n=fmt_int(count, user.locale)),
        _("Confirmation button: {label}").format(
            label=_(ACK_LABELS[ack]) if ack else _("none")),
    ]
    limit = app.settings.whatsapp_daily_limit
    outside, days = await svc.whatsapp_days(session, scope, data["audience"], user.id, limit,
                                            app.now())
    if days > 1:  # WhatsApp's daily limit: told before anything is sent
        summary.append(_("⚠️ {n} recipients are on WhatsApp and have not written to the bot "
                         "in the last 24 hours. WhatsApp allows {limit} such messages a day: "
                         "they will receive the announcement over {days} days.").format(
            n=fmt_int(outside, user.locale), limit=fmt_int(limit, user.locale), days=days))
    await message.answer("\n".join(summary), reply_markup=confirm_kb())


@routes.callback_query(BroadcastCD.filter(F.action == "noop"))
async def on_noop(cb: CallbackQuery) -> None:
    await cb.answer(_("This is a preview."))


# Only inside the flow: an older message's Cancel (that broadcast went out or is scheduled)
# falls through to the fallback router's "This button is no longer active".
@routes.callback_query(StateFilter(BroadcastSG), BroadcastCD.filter(F.action == "quit"))
async def on_quit(cb: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Cancelled. Nothing was sent."))


async def confirmed(state: FSMContext, session: AsyncSession, app: App, user: UserInfo,
                    scheduled_at: Any = None) -> Broadcast:
    data = await state.get_data()
    scope = scope_for(user, data, app)
    content = {k: v for k, v in data["content"].items() if k != "group"}
    return await svc.create(session, user, content=content, audience=data["audience"],
                            scope=scope, ack=data.get("ack"), parent_id=data.get("parent_id"),
                            locale=user.locale, now=app.now(), scheduled_at=scheduled_at,
                            limit=app.settings.broadcasts_per_day, tz=app.settings.tz)


@routes.callback_query(BroadcastCD.filter(F.action == "send"))
async def on_send(cb: CallbackQuery, state: FSMContext, session: AsyncSession, app: App,
                  user: UserInfo) -> None:
    if await state.get_state() != BroadcastSG.confirm.state:
        await cb.answer(_("This button is no longer active."))
        return
    try:
        bc = await confirmed(state, session, app, user)
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    await state.clear()
    payloads, followups = notices.build_payloads(app.voice, bc)
    await svc.start(session, bc, payloads, followups, app.now(),
                    app.settings.whatsapp_daily_limit)
    await cb.message.edit_reply_markup(reply_markup=None)
    voice, locale = here(app)
    progress = notices.progress_text(voice, bc, await svc.progress(session, bc.id),
                                     app.settings.delivery_rate)
    sent = await cb.message.answer(progress, reply_markup=markup_of(OutgoingMessage(
        buttons=notices.progress_buttons(voice, locale, bc.id))))
    bc.progress_chat_id, bc.progress_message_id = sent.chat.id, sent.message_id


@routes.callback_query(BroadcastCD.filter(F.action == "sched"))
async def on_schedule(cb: CallbackQuery, state: FSMContext, app: App) -> None:
    if await state.get_state() != BroadcastSG.confirm.state:
        await cb.answer(_("This button is no longer active."))
        return
    await state.set_state(BroadcastSG.when)
    await cb.message.edit_reply_markup(reply_markup=None)
    # an example in the future (the next full hour but one), not this very minute
    soon = app.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    await cb.message.answer(_("When should it go out? Type the date and time in Almaty time, "
                              "for example: {example}").format(
        example=fmt_dt(soon, "kk", app.settings.tz)))


@routes.message(BroadcastSG.when)
async def on_schedule_time(message: Message, state: FSMContext, session: AsyncSession,
                           app: App, user: UserInfo) -> None:
    try:
        when = svc.parse_local(message.text or "", app.settings.tz)
        bc = await confirmed(state, session, app, user, scheduled_at=when)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✖ Cancel it"), callback_data=cd("stop", str(bc.id)))
    await message.answer(
        _("Scheduled: announcement #{id} goes out on {time}. /broadcasts lists it.").format(
            id=bc.id, time=fmt_dt(when, user.locale, app.settings.tz)),
        reply_markup=kb.as_markup())


# --- management ---------------------------------------------------------------------------
def bc_id_of(callback_data: BroadcastCD) -> int:
    bc_id = as_int(callback_data.value)
    if bc_id is None:
        raise DomainError("not_found")
    return bc_id


@routes.callback_query(BroadcastCD.filter(F.action == "stop"))
async def on_stop(cb: CallbackQuery, callback_data: BroadcastCD, session: AsyncSession,
                  app: App, user: UserInfo) -> None:
    try:
        bc = await svc.cancel(session, user, bc_id_of(callback_data), app.now())
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    p = await svc.progress(session, bc.id)
    acks = (await svc.ack_counts(session, [bc.id])).get(bc.id, 0) if bc.ack else None
    text = notices.report_text(app.voice, app.places, bc, p, acks)
    await cb.message.edit_text(text, reply_markup=None)


@routes.message(Command("broadcasts"))
async def cmd_broadcasts(message: Message, session: AsyncSession, app: App,
                         user: UserInfo) -> None:
    items = await svc.list_own(session, user)
    if not items:
        await message.answer(_("You have not sent any announcements yet. /broadcast starts "
                               "one."))
        return
    acks = await svc.ack_counts(session, [b.id for b in items if b.ack])
    status_names = {"scheduled": _("scheduled"), "sending": _("sending"),
                    "done": _("finished"), "cancelled": _("cancelled")}
    lines = [_("Your announcements:")]
    kb = InlineKeyboardBuilder()
    for bc in items:
        p = await svc.progress(session, bc.id)
        when = bc.scheduled_at if bc.status == "scheduled" else (bc.started_at or bc.created_at)
        line = _("#{id} · {time} · {status} · {audience}").format(
            id=bc.id, time=fmt_dt(when, user.locale, app.settings.tz),
            status=status_names.get(bc.status, bc.status),
            audience=notices.audience_label(app.voice, app.i18n.current_locale, bc.audience))
        if bc.status != "scheduled":
            line += "\n    " + _("delivered {sent} of {total}, blocked {blocked}, failed "
                                 "{failed}").format(sent=fmt_int(p.sent, user.locale),
                                                    total=fmt_int(p.total, user.locale),
                                                    blocked=p.blocked, failed=p.failed)
        if bc.ack:
            line += ", " + _("confirmed {n}").format(n=fmt_int(acks.get(bc.id, 0), user.locale))
            kb.button(text=f"📊 #{bc.id}", callback_data=cd("acks", str(bc.id)))
        if bc.status in ("scheduled", "sending"):
            kb.button(text=f"✖ #{bc.id}", callback_data=cd("stop", str(bc.id)))
        lines.append(line)
    kb.adjust(4)
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


@routes.callback_query(BroadcastCD.filter(F.action == "acks"))
async def on_acks(cb: CallbackQuery, callback_data: BroadcastCD, session: AsyncSession,
                  app: App, user: UserInfo) -> None:
    try:
        bc = await svc.get_own(session, user, bc_id_of(callback_data))
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    by = "school" if bc.district_id else "district"
    report = await svc.ack_report(session, bc, by, waiting=str(labels.WAITING_FOR_GUARDIAN))
    lines = [_("Confirmations of announcement #{id}: {n} of {total}").format(
        id=bc.id, n=fmt_int(report.acknowledged, user.locale),
        total=fmt_int(report.delivered, user.locale))]
    groups = []
    for group, done, total in report.groups:
        if by == "district":
            place = app.places.district(as_int(group))
            name = html.escape(place.name(user.locale)) if place else "—"
        else:
            name = short_html(group, ORG_SHOWN)
        groups.append(f"• {name}: {done}/{total}")
    half = TEXT_LIMIT // 2 - 100  # each list gets half a message; the rest is "…and N more"
    lines += take_lines(groups, half, more_text)
    kb = InlineKeyboardBuilder()
    if report.missing:
        left = report.delivered - report.acknowledged
        unlisted = max(0, left - len(report.missing))  # the report names the first ones
        lines += ["", _("Not yet confirmed:")]
        # a minor waiting for a guardian is named only as waiting, without a school
        named = [f"— {short_html(n, NAME_SHOWN)}" + (f" ({short_html(o, ORG_SHOWN)})" if o else "")
                 for n, o in report.missing]
        shown = take_lines(named, half, lambda n: more_text(n + unlisted))
        if unlisted and len(shown) == len(named):  # every named one fits: count the rest
            shown.append(more_text(unlisted))
        lines += shown
        kb.button(text=_("🔔 Remind the {n} who have not").format(n=left),
                  callback_data=cd("nudge", str(bc.id)))
    await cb.message.answer("\n".join(lines), reply_markup=kb.as_markup())


@routes.callback_query(BroadcastCD.filter(F.action == "nudge"))
async def on_nudge(cb: CallbackQuery, callback_data: BroadcastCD, session: AsyncSession,
                   app: App, user: UserInfo) -> None:
    try:
        bc = await svc.get_own(session, user, bc_id_of(callback_data))
        added = await svc.nudge(session, user, bc, notices.nudge_payloads(app.voice, bc))
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Reminder queued for {n} people.").format(n=added))


# --- recipients ---------------------------------------------------------------------------
@routes.callback_query(BroadcastAckCD.filter())
async def on_acknowledge(cb: CallbackQuery, callback_data: BroadcastAckCD,
                         session: AsyncSession, app: App, user: UserInfo) -> None:
    try:
        new = await svc.acknowledge(session, user, callback_data.id, app.now())
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    await cb.answer(_("Thank you, noted!") if new else _("You have already confirmed."))
    bc = await session.get(Broadcast, callback_data.id)
    forward = bool(bc and bc.cascade and user.role == "coordinator")
    voice, locale = here(app)
    rows = notices.button_rows(voice, locale, callback_data.id, None, forward)
    await cb.message.edit_reply_markup(reply_markup=markup_of(OutgoingMessage(buttons=rows)))


@routes.callback_query(BroadcastFwdCD.filter())
async def on_forward(cb: CallbackQuery, callback_data: BroadcastFwdCD, state: FSMContext,
                     session: AsyncSession, app: App, user: UserInfo) -> None:
    try:
        bc = await svc.forwardable(session, user, callback_data.id)
        await begin(cb.message, state, session, app, user,
                    {"content": bc.content, "parent_id": bc.id})
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    await log_forward(session, user, bc.id)


async def log_forward(session: AsyncSession, user: UserInfo, bc_id: int) -> None:
    await log_activity(session, "broadcast_forward_opened", user, "broadcast", bc_id)
