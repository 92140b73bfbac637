"""Coordinator invites made step by step or in one line (/invite), and join links."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import segno
from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import InviteCD, RegCD
from bot.config import Settings
from bot.routing import Routes
from bot.services import registration as reg
from bot.services.errors import DomainError
from bot.services.numbers import as_int, typed_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from db.models import User
from handlers.admin.common import active_me, deep_link
from handlers.admin.invite_texts import invite_text, parse_invite_args
from handlers.people import district_step
from handlers.shared.errors import StaleButton, error_flags
from handlers.shared.keyboards import region_kb

routes = Routes(__name__)

PRESETS = (("7", "1"), ("30", "1"), ("30", "10"))


class InviteSG(StatesGroup):
    level = State()
    region = State()
    district = State()
    limits = State()


def level_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, text in labels.LEVEL.items():
        kb.button(text=str(text), callback_data=InviteCD(step="level", value=value))
    kb.adjust(1)
    return kb.as_markup()


def limits_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for days, uses in PRESETS:
        label = " · ".join((ngettext("{days} day", "{days} days", int(days)).format(days=days),
                            ngettext("{uses} use", "{uses} uses", int(uses)).format(uses=uses)))
        kb.button(text=label,
                  callback_data=InviteCD(step="preset", value=f"{days}-{uses}"))
    kb.adjust(1)
    return kb.as_markup()


async def issue_invite(message: Message, session: AsyncSession, places: PlaceDirectory,
                       settings: Settings, now: datetime, locale: str, staff: User,
                       scope: dict[str, Any]) -> None:
    """Create the invite and show its link; a refused limit raises DomainError."""
    invite = await reg.create_invite(session, staff, "coordinator", scope["level"],
                                     scope["region_id"], scope.get("district_id"),
                                     days=scope["days"], max_uses=scope["uses"], now=now)
    link = await deep_link(message.bot, f"inv_{invite.code}")
    await message.answer(invite_text(invite, link, places, settings.tz, locale))


@routes.message(Command("invite"))
async def cmd_invite(message: Message, command: CommandObject, state: FSMContext,
                     session: AsyncSession, places: PlaceDirectory, settings: Settings,
                     clock: Callable[[], datetime], locale: str, user: UserInfo | None) -> None:
    await state.clear()
    if not command.args:
        await state.set_state(InviteSG.level)
        await message.answer(_("Invite a coordinator. At which level will they coordinate?"),
                             reply_markup=level_kb())
        return
    parsed = parse_invite_args(command.args, places, locale)
    if isinstance(parsed, str):
        await message.answer(parsed)
        return
    staff = await active_me(session, user)
    await issue_invite(message, session, places, settings, clock(), locale, staff, parsed)


@routes.callback_query(InviteSG.level, InviteCD.filter(F.step == "level"))
async def on_invite_level(cb: CallbackQuery, callback_data: InviteCD, state: FSMContext,
                          places: PlaceDirectory, locale: str) -> None:
    if callback_data.value not in labels.LEVEL:
        raise StaleButton()
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.update_data(level=callback_data.value)
    await state.set_state(InviteSG.region)
    await cb.message.answer(_("Which region?"), reply_markup=region_kb(places.regions, locale))


@routes.callback_query(InviteSG.region, RegCD.filter(F.field == "region"),
                       flags=error_flags(alert=True))
async def on_invite_region(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                           places: PlaceDirectory, locale: str) -> None:
    region = district_step.region_of(places, callback_data.value)
    await cb.message.edit_reply_markup(reply_markup=None)
    if (await state.get_data()).get("level") == "district":
        await district_step.ask_district(cb.message, state, places, region.id, locale,
                                         InviteSG.district, district_step.staff_prompt,
                                         keep=True)
        return
    await state.update_data(region_id=region.id)
    await ask_limits(cb.message, state)


async def ask_limits(message: Message, state: FSMContext) -> None:
    await state.set_state(InviteSG.limits)
    await message.answer(_("How long is the link valid and how many people may use it? Press "
                           "a button or type two numbers: days and uses, e.g. 14 3"),
                         reply_markup=limits_kb())


async def ask_limits_again(message: Message, data: dict[str, Any]) -> None:
    """After a refused number of days or uses (error_flags `then`)."""
    await ask_limits(message, data["state"])


@routes.callback_query(InviteSG.district, RegCD.filter(F.field == "district"),
                       flags=error_flags(alert=True))
async def on_invite_district(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                             places: PlaceDirectory) -> None:
    data = await state.get_data()
    place = places.district_from(callback_data.value)
    if place is None or place.region_id != data.get("region_id"):
        raise DomainError("unknown_district")
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.update_data(district_id=place.id)
    await ask_limits(cb.message, state)


@routes.callback_query(InviteSG.district, RegCD.filter(F.field == "back"))
async def on_invite_back(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                         locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(InviteSG.region)
    await cb.message.answer(_("Which region?"), reply_markup=region_kb(places.regions, locale))


district_step.declare(routes, InviteSG.district, district_step.staff_prompt)


async def finish_invite(message: Message, state: FSMContext, session: AsyncSession,
                        places: PlaceDirectory, settings: Settings, now: datetime, locale: str,
                        user: UserInfo | None, days: int, uses: int) -> None:
    data = await state.get_data()
    staff = await active_me(session, user)
    if staff is None or not data.get("region_id"):
        await state.clear()
        return
    await issue_invite(message, session, places, settings, now, locale, staff,
                       {**data, "days": days, "uses": uses})
    await state.clear()


@routes.callback_query(InviteSG.limits, InviteCD.filter(F.step == "preset"),
                       flags=error_flags(then=ask_limits_again))
async def on_invite_preset(cb: CallbackQuery, callback_data: InviteCD, state: FSMContext,
                           session: AsyncSession, places: PlaceDirectory, settings: Settings,
                           clock: Callable[[], datetime], locale: str,
                           user: UserInfo | None) -> None:
    raw_days, _sep, raw_uses = callback_data.value.partition("-")
    days, uses = as_int(raw_days), as_int(raw_uses)
    if days is None or uses is None:
        raise StaleButton()
    await cb.message.edit_reply_markup(reply_markup=None)
    await finish_invite(cb.message, state, session, places, settings, clock(), locale, user,
                        days, uses)


@routes.message(InviteSG.limits, F.text, ~F.text.startswith("/"),
                flags=error_flags(then=ask_limits_again))
async def on_invite_limits_text(message: Message, state: FSMContext, session: AsyncSession,
                                places: PlaceDirectory, settings: Settings,
                                clock: Callable[[], datetime], locale: str,
                                user: UserInfo | None) -> None:
    numbers = [typed_int(p) for p in (message.text or "").split()]
    if len(numbers) != 2 or None in numbers:
        await message.answer(_("Please type two numbers: days and uses, e.g. 14 3"))
        await ask_limits(message, state)
        return
    await finish_invite(message, state, session, places, settings, clock(), locale, user,
                        numbers[0], numbers[1])


@routes.message(InviteSG.level, ~F.text.startswith("/"))
@routes.message(InviteSG.region, ~F.text.startswith("/"))
@routes.message(InviteSG.district, ~F.text)
@routes.message(InviteSG.limits, ~F.text)
async def on_invite_need_button(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons, or send /cancel."))


# --- join links ----------------------------------------------------------------------------

def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    segno.make(url).save(buf, kind="png", scale=8)
    return buf.getvalue()


@routes.message(Command("joinlink"))
async def cmd_joinlink(message: Message, session: AsyncSession, places: PlaceDirectory,
                       locale: str, user: UserInfo | None) -> None:
    me = await active_me(session, user)
    if me is None:
        return
    invite = await reg.join_link_for(session, me)
    link = await deep_link(message.bot, f"j_{invite.code}")
    names = places.names(invite.region_id, invite.district_id, locale)
    area = html.escape(" — ".join(names)) or _("all regions")
    if places.district(invite.district_id) is not None:
        text = _("Join link for students of your area ({area}):\n{link}\n\nStudents who open "
                 "it skip choosing the region and district. Print the QR code or show it on a "
                 "screen.").format(area=area, link=link)
    else:  # a regional coordinator's link: the district is still theirs to choose
        text = _("Join link for students of your area ({area}):\n{link}\n\nStudents who open "
                 "it skip choosing the region and then choose their district. Print the QR code "
                 "or show it on a screen.").format(area=area, link=link)
    await message.answer_photo(BufferedInputFile(qr_png(link), filename="joinlink.png"),
                               caption=text)
