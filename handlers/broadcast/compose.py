"""/broadcast: the author's content, its audience and area, the confirmation button, and
the preview (sending or scheduling it is handlers.broadcast.send)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import BroadcastCD
from bot.channels.telegram import markup_of, send_outgoing
from bot.config import Settings
from bot.i18n import PoI18n, fmt_int
from bot.notices import Voice
from bot.notices import broadcasts as notices
from bot.routing import Routes
from bot.services import broadcasts as svc
from bot.services.delivery import OutgoingMessage
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.broadcast.content import add_album_part, content_of
from handlers.broadcast.flow import BroadcastSG, audience_markup, begin, scope_for
from handlers.broadcast.keyboards import ack_kb, area_kb, confirm_kb, preview_rows, submenu_kb
from handlers.broadcast.texts import preview_summary
from handlers.shared.errors import error_flags, require_state
from handlers.shared.voice import voice_of

routes = Routes(__name__)
ALERT = error_flags(alert=True)  # a refused press pops up (a refused message gets a message)
LABEL_MENUS = {"org": labels.ORG_TYPE, "faction": labels.FACTION, "position": labels.POSITION}
COMPOSED = (BroadcastSG.audience, BroadcastSG.ack, BroadcastSG.confirm)  # content in hand


@routes.message(Command("broadcast"))
async def cmd_broadcast(message: Message, state: FSMContext, session: AsyncSession,
                        settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                        clock: Callable[[], datetime], user: UserInfo) -> None:
    await begin(message, state, session, user, {}, settings=settings,
                voice=voice_of(settings, i18n), places=places, now=clock())


@routes.message(BroadcastSG.content)
async def on_content(message: Message, state: FSMContext, settings: Settings, i18n: PoI18n,
                     places: PlaceDirectory, user: UserInfo) -> None:
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
    await message.answer(_("Who should receive it?"), reply_markup=audience_markup(
        voice_of(settings, i18n), places, user, data))


@routes.message(StateFilter(*COMPOSED), F.media_group_id)
async def on_album_part(message: Message, state: FSMContext) -> None:
    """The other parts of an album arrive as separate messages: add them silently."""
    content = (await state.get_data()).get("content") or {}
    if add_album_part(content, message):
        await state.update_data(content=content)


@routes.message(StateFilter(*COMPOSED))
async def on_stray_message(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or /cancel to stop."))


# --- the audience and the area ------------------------------------------------------------
@routes.callback_query(BroadcastCD.filter(F.action == "menu"), flags=ALERT)
async def on_menu(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                  session: AsyncSession, settings: Settings, i18n: PoI18n,
                  places: PlaceDirectory, user: UserInfo) -> None:
    await require_state(state, BroadcastSG.audience, alert=False)
    data = await state.get_data()
    options = await _menu_options(callback_data.value, session, places, user, data)
    if options is None:  # "« Back"
        await cb.message.edit_reply_markup(reply_markup=audience_markup(
            voice_of(settings, i18n), places, user, data))
    elif not options:
        await cb.answer(_("Nothing to choose from yet."), show_alert=True)
    else:
        await cb.message.edit_reply_markup(reply_markup=submenu_kb(options))


async def _menu_options(value: str, session: AsyncSession, places: PlaceDirectory,
                        user: UserInfo, data: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(audience, title) of a submenu: a label table's, or an audience provider's choices
    within the author's scope; None for the audiences themselves."""
    if value in LABEL_MENUS:
        return [(f"{value}:{k}", str(v)) for k, v in LABEL_MENUS[value].items()]
    provider = svc.PROVIDERS.get(value[2:]) if value.startswith("p.") else None
    if provider is None or not provider.options:
        return None
    scope = scope_for(user, data, places)
    return [(f"{provider.name}:{k}", t)
            for k, t in await provider.choices(session, scope, user.locale)]


@routes.callback_query(BroadcastCD.filter(F.action == "area"))
async def on_area(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                  user: UserInfo) -> None:
    await require_state(state, BroadcastSG.audience, alert=False)
    await cb.message.edit_reply_markup(reply_markup=area_kb(user, places))


@routes.callback_query(BroadcastCD.filter(F.action == "place"), flags=ALERT)
async def on_place(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                   settings: Settings, i18n: PoI18n, places: PlaceDirectory,
                   user: UserInfo) -> None:
    await require_state(state, BroadcastSG.audience, alert=False)
    area = _area_of(callback_data.value)
    scope_for(user, area, places)  # a forged place outside the scope stops here
    await state.update_data(**area)
    data = await state.get_data()
    await cb.message.edit_reply_markup(reply_markup=audience_markup(
        voice_of(settings, i18n), places, user, data))


def _area_of(value: str) -> dict[str, Any]:
    """The flow's area from a place button: "all", "r<region id>" or "d<district id>"."""
    area: dict[str, Any] = {"region_id": None, "district_id": None}
    number = as_int(value[1:])
    if value.startswith("r") and number is not None:
        area["region_id"] = number
    elif value.startswith("d") and number is not None:
        area["district_id"] = number
    elif value != "all":
        raise DomainError("bc_out_of_scope")
    return area


@routes.callback_query(BroadcastCD.filter(F.action == "aud"), flags=ALERT)
async def on_audience(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                      session: AsyncSession, places: PlaceDirectory, user: UserInfo) -> None:
    await require_state(state, BroadcastSG.audience, alert=False)
    audience = callback_data.value.replace(".", ":", 1)
    data = await state.get_data()
    count = await svc.count_people(session, scope_for(user, data, places), audience, user.id)
    if not count:
        await cb.answer(_("Nobody in this audience yet. Choose another one."), show_alert=True)
        return
    await state.update_data(audience=audience)
    await state.set_state(BroadcastSG.ack)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Ask the recipients to confirm with a button? You will see who "
                              "has and who has not."), reply_markup=ack_kb())


# --- the confirmation button and the preview ----------------------------------------------
@routes.callback_query(BroadcastCD.filter(F.action == "ack"))
async def on_ack_choice(cb: CallbackQuery, callback_data: BroadcastCD, state: FSMContext,
                        session: AsyncSession, settings: Settings, i18n: PoI18n,
                        places: PlaceDirectory, clock: Callable[[], datetime], user: UserInfo,
                        locale: str) -> None:
    await require_state(state, BroadcastSG.ack, alert=False)
    ack = callback_data.value if callback_data.value in svc.ACK_KINDS else None
    await state.update_data(ack=ack)
    await state.set_state(BroadcastSG.confirm)
    await cb.message.edit_reply_markup(reply_markup=None)
    await show_preview(cb.message, state, session, voice_of(settings, i18n), places, user,
                       locale)
    await warn_whatsapp_days(cb.message, state, session, places, settings, clock(), user,
                             locale)


async def show_preview(message: Message, state: FSMContext, session: AsyncSession,
                       voice: Voice, places: PlaceDirectory, user: UserInfo,
                       locale: str) -> None:
    """The announcement as recipients will see it, then who gets it and Send / Schedule."""
    data = await state.get_data()
    scope = scope_for(user, data, places)
    count = await svc.count_people(session, scope, data["audience"], user.id)
    content, ack = data["content"], data.get("ack")
    rows = preview_rows(voice, locale, ack)
    await message.answer(_("Preview — exactly what the recipients will see:"))
    await send_outgoing(message.bot, message.chat.id, notices.message_of(content, rows))
    if content["kind"] == "album" and rows:
        await message.answer(notices.followup_text(voice, locale, ack),
                             reply_markup=markup_of(OutgoingMessage(buttons=rows)))
    await message.answer(preview_summary(voice, places, locale, data["audience"], scope,
                                         count, ack), reply_markup=confirm_kb())


async def warn_whatsapp_days(message: Message, state: FSMContext, session: AsyncSession,
                             places: PlaceDirectory, settings: Settings, now: datetime,
                             user: UserInfo, locale: str) -> None:
    """WhatsApp's daily limit of business-initiated messages: told before anything is sent."""
    data = await state.get_data()
    limit = settings.whatsapp_daily_limit
    outside, days = await svc.whatsapp_days(session, scope_for(user, data, places),
                                            data["audience"], user.id, limit, now)
    if days > 1:
        await message.answer(_(
            "⚠️ {n} recipients are on WhatsApp and have not written to the bot in the last 24 "
            "hours. WhatsApp allows {limit} such messages a day: they will receive the "
            "announcement over {days} days.").format(
            n=fmt_int(outside, locale), limit=fmt_int(limit, locale), days=days))


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
