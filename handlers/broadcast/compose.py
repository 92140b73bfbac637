"""/broadcast (compose → audience → confirmation → preview → send or schedule), /broadcasts,
acknowledgements, nudges, the cascade, and the tick that starts and reports broadcasts."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App
from bot.callbacks import BroadcastAckCD, BroadcastCD, BroadcastFwdCD
from bot.delivery import markup_of, send_outgoing
from bot.i18n import LANGUAGES, fmt_dt, fmt_int
from bot.routing import Routes
from bot.services import broadcasts as svc
from bot.services.activity import log_activity
from bot.services.delivery import Button, OutgoingMessage
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.text import TEXT_LIMIT, short_html, take_lines
from bot.services.users import UserInfo
from db.models import Broadcast, User
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, error_text, more_text

routes = Routes(__name__)
logger = logging.getLogger(__name__)


ACK_LABELS = {"received": __("✅ Received"), "done": __("✅ Done")}
ALBUM_KINDS = ("photo", "video", "document", "audio")
SINGLE_KINDS = ("photo", "video", "document", "animation", "audio", "voice")


class BroadcastSG(StatesGroup):
    content = State()
    audience = State()
    ack = State()
    confirm = State()
    when = State()


@contextmanager
def in_locale(app: App, locale: str) -> Iterator[None]:
    with app.i18n.context(), app.i18n.use_locale(locale):
        yield


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


def message_of(content: dict[str, Any], buttons: list[list[Button]]) -> OutgoingMessage:
    fields = {k: content.get(k) for k in ("kind", "text", "entities", "file_id", "media")}
    return OutgoingMessage(**fields, buttons=[] if content["kind"] == "album" else buttons,
                           link_preview=content.get("link_preview", True))


def button_rows(bc_id: int, ack: str | None, forward: bool) -> list[list[Button]]:
    """In the current locale; callbacks name the broadcast so presses are checked."""
    rows = []
    if ack:
        rows.append([Button(str(ACK_LABELS[ack]), BroadcastAckCD(id=bc_id).pack())])
    if forward:
        rows.append([Button(_("↪️ Forward to my people"), BroadcastFwdCD(id=bc_id).pack())])
    return rows


def followup_text(ack: str | None) -> str:
    if ack:
        return _("⬆️ Please confirm that you have read the announcement above.")
    return _("⬆️ You can forward the announcement above to your people.")


def build_payloads(app: App, bc: Broadcast) -> tuple[dict[str, OutgoingMessage],
                                                     dict[str, OutgoingMessage]]:
    """(payloads, album follow-ups) by payload key: locale, and locale|c for coordinators
    of a cascading broadcast (who get "Forward to my people")."""
    payloads: dict[str, OutgoingMessage] = {}
    followups: dict[str, OutgoingMessage] = {}
    variants = (False, True) if bc.cascade else (False,)
    for locale in LANGUAGES:
        with in_locale(app, locale):
            for forward in variants:
                key = locale + ("|c" if forward else "")
                rows = button_rows(bc.id, bc.ack, forward)
                payloads[key] = message_of(bc.content, rows)
                if bc.content["kind"] == "album" and rows:
                    followups[key] = OutgoingMessage(text=followup_text(bc.ack), buttons=rows)
    return payloads, followups


# --- texts --------------------------------------------------------------------------------
def audience_label(audience: str) -> str:
    kind, _sep, value = audience.partition(":")
    if kind == "all":
        return _("everyone")
    if kind == "students":
        return _("students")
    if kind == "coordinators":
        return _("coordinators")
    if kind == "org":
        return _("organisation type: {value}").format(value=labels.label(labels.ORG_TYPE, value))
    if kind == "faction":
        return _("faction: {value}").format(value=labels.label(labels.FACTION, value))
    if kind == "position":
        return _("position: {value}").format(value=labels.label(labels.POSITION, value))
    provider = svc.PROVIDERS.get(kind)
    name = _(provider.label) if provider else kind
    return f"{name} #{value}" if value else name


def area_label(app: App, locale: str, region_id: int | None, district_id: int | None) -> str:
    if district_id:
        place = app.places.district(district_id)
        return place.name(locale) if place else "—"
    if region_id:
        place = app.places.region(region_id)
        return place.name(locale) if place else "—"
    return _("the whole country")


def progress_text(app: App, bc: Broadcast, p: svc.Progress) -> str:
    loc = bc.locale
    lines = [_("📣 Announcement #{id}: sending").format(id=bc.id),
             _("Sent: {sent} of {total}").format(sent=fmt_int(p.sent, loc),
                                                 total=fmt_int(p.total, loc)),
             _("Failed: {n}").format(n=fmt_int(p.failed, loc)),
             _("Blocked the bot: {n}").format(n=fmt_int(p.blocked, loc)),
             _("Remaining: {n}").format(n=fmt_int(p.remaining, loc)),
             _("Time left: about {time}").format(
                 time=duration(svc.eta_seconds(p.remaining, app.settings.delivery_rate)))]
    return "\n".join(lines)


def duration(seconds: int) -> str:
    if seconds < 60:
        return _("{n} s").format(n=seconds)
    return _("{n} min").format(n=(seconds + 59) // 60)


def report_text(app: App, bc: Broadcast, p: svc.Progress, acks: int | None) -> str:
    loc = bc.locale
    head = (_("📣 Announcement #{id}: cancelled") if bc.status == "cancelled"
            else _("📣 Announcement #{id}: finished")).format(id=bc.id)
    lines = [head,
             _("Audience: {audience}, {area}").format(
                 audience=audience_label(bc.audience),
                 area=html.escape(area_label(app, loc, bc.region_id, bc.district_id))),
             _("Recipients: {n}").format(n=fmt_int(p.total, loc)),
             _("Delivered: {n}").format(n=fmt_int(p.sent, loc)),
             _("Blocked the bot: {n}").format(n=fmt_int(p.blocked, loc)),
             _("Failed: {n}").format(n=fmt_int(p.failed, loc))]
    if p.cancelled:
        lines.append(_("Not sent (cancelled): {n}").format(n=fmt_int(p.cancelled, loc)))
    if acks is not None:
        lines.append(_("Confirmed: {n} of {total}").format(n=fmt_int(acks, loc),
                                                           total=fmt_int(p.sent, loc)))
    return "\n".join(lines)


def progress_kb(bc_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✖ Stop sending"), callback_data=BroadcastCD(action="stop",
                                                                   value=str(bc_id)))
    return kb.as_markup()


def report_kb(bc: Broadcast) -> InlineKeyboardMarkup | None:
    if not bc.ack:
        return None
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📊 Confirmations"), callback_data=BroadcastCD(action="acks",
                                                                    value=str(bc.id)))
    return kb.as_markup()


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
        area = area_label(app, user.locale, region_id, data.get("district_id"))
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
    kb.button(text=str(ACK_LABELS["received"]), callback_data=cd("ack", "received"))
    kb.button(text=str(ACK_LABELS["done"]), callback_data=cd("ack", "done"))
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
    rows = button_rows(0, data.get("ack"), False)
    for row in rows:  # the preview's buttons do nothing
        for button in row:
            button.callback_data = cd("noop")
    await message.answer(_("Preview — exactly what the recipients will see:"))
    await send_outgoing(message.bot, message.chat.id, message_of(content, rows))
    if content["kind"] == "album" and rows:
        await message.answer(followup_text(data.get("ack")),
                             reply_markup=markup_of(OutgoingMessage(buttons=rows)))
    ack = data.get("ack")
    summary = [
        _("Audience: {audience}").format(audience=audience_label(data["audience"])),
        _("Area: {area}").format(area=html.escape(area_label(app, user.locale, scope.region_id,
                                                             scope.district_id))),
        _("Recipients: {n}").format(n=fmt_int(count, user.locale)),
        _("Confirmation button: {label}").format(
            label=str(ACK_LABELS[ack]) if ack else _("none")),
    ]
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
    payloads, followups = build_payloads(app, bc)
    await svc.start(session, bc, payloads, followups, app.now())
    await cb.message.edit_reply_markup(reply_markup=None)
    sent = await cb.message.answer(
        progress_text(app, bc, await svc.progress(session, bc.id)),
        reply_markup=progress_kb(bc.id))
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
    with in_locale(app, bc.locale):
        text = report_text(app, bc, p, acks)
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
            status=status_names.get(bc.status, bc.status), audience=audience_label(bc.audience))
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
        payloads = {}
        for locale in LANGUAGES:
            with in_locale(app, locale):
                payloads[locale] = nudge_message(bc)
        added = await svc.nudge(session, user, bc, payloads)
    except DomainError as exc:
        await cb.answer(error_text(exc), show_alert=True)
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Reminder queued for {n} people.").format(n=added))


def nudge_message(bc: Broadcast) -> OutgoingMessage:
    excerpt = (bc.content.get("text") or "").strip()
    if not excerpt and bc.content.get("media"):
        excerpt = (bc.content["media"][0].get("caption") or "").strip()
    if len(excerpt) > 200:
        excerpt = excerpt[:200] + "…"
    if bc.ack == "done":
        text = _("🔔 Reminder: please press “✅ Done” below once you have done what the "
                 "announcement asks.")
    else:
        text = _("🔔 Reminder: please confirm that you have read the announcement.")
    if excerpt:
        text += "\n\n«" + excerpt + "»"
    rows = button_rows(bc.id, bc.ack, False)
    return OutgoingMessage(text=text, buttons=rows)


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
    rows = button_rows(callback_data.id, None, forward)
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


# --- the tick -----------------------------------------------------------------------------
async def broadcasts_tick(app: App) -> None:
    """Start scheduled broadcasts that are due, update progress messages, send reports.

    Idempotent: starting queues with dedup keys; texts are edited only when they change.
    """
    now = app.now()
    started: list[int] = []
    async with app.sessionmaker() as session:
        for bc in await svc.due_scheduled(session, now):
            payloads, followups = build_payloads(app, bc)
            await svc.start(session, bc, payloads, followups, now)
            started.append(bc.id)
        await session.commit()
    shown = app.progress_shown
    todo = []
    async with app.read_session() as reader:  # counting 100,000 deliveries takes a while
        for bc in await svc.running(reader):
            p = await svc.progress(reader, bc.id)
            author = await reader.get(User, bc.author_id) if bc.author_id else None
            acks = (await svc.ack_counts(reader, [bc.id])).get(bc.id, 0) if bc.ack else None
            todo.append((bc, p, author.chat_id if author else None, acks))
    finished = [bc.id for bc, p, _chat, _acks in todo if p.finished]
    if finished:
        async with app.sessionmaker() as session:
            for bc in await svc.running(session):
                if bc.id in finished:
                    await svc.finish(session, bc, now)
            await session.commit()
    for bc, p, chat_id, acks in todo:  # no session is held while we talk to Telegram
        await _show(app, bc, p, chat_id, acks, bc.id in started, shown)


async def _show(app: App, bc: Broadcast, p: svc.Progress, chat_id: int | None,
                acks: int | None, just_started: bool, shown: dict[int, str]) -> None:
    if chat_id is None:
        return
    with in_locale(app, bc.locale):
        text = report_text(app, bc, p, acks) if p.finished else progress_text(app, bc, p)
        markup = report_kb(bc) if p.finished else progress_kb(bc.id)
    try:
        if bc.progress_message_id is None or just_started:
            sent = await app.bot.send_message(chat_id, text, reply_markup=markup)
            async with app.sessionmaker() as session, session.begin():
                row = await session.get(Broadcast, bc.id)
                if row is not None:
                    row.progress_chat_id, row.progress_message_id = chat_id, sent.message_id
        elif shown.get(bc.id) != text:
            await app.bot.edit_message_text(text, chat_id=bc.progress_chat_id or chat_id,
                                            message_id=bc.progress_message_id,
                                            reply_markup=None if p.finished else markup)
            if p.finished:
                await app.bot.send_message(chat_id, text, reply_markup=markup)
        shown[bc.id] = text
    except Exception as exc:  # the author may have blocked the bot; the broadcast goes on
        logger.warning("progress of broadcast %s not shown: %s", bc.id, exc)
    if p.finished:
        shown.pop(bc.id, None)
