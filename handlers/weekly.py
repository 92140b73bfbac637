"""/week: a coordinator's weekly report of the offline week in their area (events held,
people reached, a note); the reminder's button and the /help button open the same form.
Rules and storage: bot.services.weekly."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import WeekCD
from bot.config import Settings
from bot.i18n import fmt_int
from bot.routing import Routes
from bot.services import weekly as svc
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.shared.errors import require_state

routes = Routes(__name__)


class WeekSG(StatesGroup):
    events = State()
    people = State()
    note = State()


def week_label(week: date) -> str:
    return f"{week:%d.%m.%Y} – {week + timedelta(days=6):%d.%m.%Y}"


def area_name(user: UserInfo, places: PlaceDirectory, locale: str) -> str:
    region = places.region(user.region_id) if user.region_id else None
    district = places.district(user.district_id) if user.district_id else None
    names = [p.name(locale) for p in (district if user.coordinator_level == "district"
                                      else None, region) if p]
    return html.escape(", ".join(names)) or "—"


def skip_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip »"), callback_data=WeekCD(action="skip"))
    return kb.as_markup()


async def begin(message: Message, state: FSMContext, session: AsyncSession, user: UserInfo,
                places: PlaceDirectory, settings: Settings, now: datetime,
                locale: str) -> None:
    """Ask for the week's events; say so when this week was filed already (it is updated)."""
    week = svc.week_monday(now, settings.tz)
    await state.clear()
    await state.set_state(WeekSG.events)
    await state.set_data({"week": week.isoformat()})
    lines = ["📝 <b>" + _("Weekly report: {week}").format(week=week_label(week)) + "</b>",
             _("Area: {area}").format(area=area_name(user, places, locale))]
    filed = await svc.get_report(session, user.id, week)
    if filed is not None:
        lines.append(_("You have already reported this week (events held: {events}, people "
                       "reached: {people}). Your new answers will replace it.").format(
            events=fmt_int(filed.events_held, locale), people=fmt_int(filed.people_reached,
                                                                      locale)))
    lines += ["", _("How many events did you hold offline this week? Type a number (0 if "
                    "none).\n/cancel to stop.")]
    await message.answer("\n".join(lines))


@routes.message(Command("week"))
async def cmd_week(message: Message, state: FSMContext, session: AsyncSession,
                   user: UserInfo, places: PlaceDirectory, settings: Settings,
                   clock: Callable[[], datetime], locale: str) -> None:
    await begin(message, state, session, user, places, settings, clock(), locale)


@routes.callback_query(WeekCD.filter(F.action == "start"))
async def on_start(cb: CallbackQuery, state: FSMContext, session: AsyncSession,
                   user: UserInfo, places: PlaceDirectory, settings: Settings,
                   clock: Callable[[], datetime], locale: str) -> None:
    await begin(cb.message, state, session, user, places, settings, clock(), locale)


@routes.message(WeekSG.events, ~F.text.startswith("/"))
async def on_events(message: Message, state: FSMContext) -> None:
    events = svc.parse_count(message.text, svc.MAX_EVENTS)
    await state.update_data(events=events)
    await state.set_state(WeekSG.people)
    await message.answer(_("How many people took part in them (people reached)? Type a "
                           "number."))


@routes.message(WeekSG.people, ~F.text.startswith("/"))
async def on_people(message: Message, state: FSMContext) -> None:
    people = svc.parse_count(message.text, svc.MAX_PEOPLE)
    await state.update_data(people=people)
    await state.set_state(WeekSG.note)
    await message.answer(
        _("Add a short note about the week: what was held and how it went (at most {max} "
          "characters). Please write no names, phone numbers or other personal data of "
          "participants. Or press “Skip”.").format(max=svc.NOTE_MAX),
        reply_markup=skip_kb())


@routes.message(WeekSG.note, F.text, ~F.text.startswith("/"))
async def on_note(message: Message, state: FSMContext, session: AsyncSession,
                  user: UserInfo, places: PlaceDirectory, locale: str) -> None:
    await finish(message, state, session, user, places, locale, svc.clean_note(message.text))


@routes.callback_query(WeekCD.filter(F.action == "skip"))
async def on_skip(cb: CallbackQuery, state: FSMContext, session: AsyncSession,
                  user: UserInfo, places: PlaceDirectory, locale: str) -> None:
    await require_state(state, WeekSG.note)
    await finish(cb.message, state, session, user, places, locale, None)


async def finish(message: Message, state: FSMContext, session: AsyncSession, user: UserInfo,
                 places: PlaceDirectory, locale: str, note: str | None) -> None:
    data: dict[str, Any] = await state.get_data()
    week = date.fromisoformat(data["week"])
    filed = await svc.file_report(session, user.id, week, data["events"], data["people"],
                                  note)
    await state.clear()
    head = (_("✅ Weekly report updated.") if filed.updated
            else _("✅ Weekly report saved. Thank you!"))
    lines = [head,
             _("Week: {week}").format(week=week_label(week)),
             _("Area: {area}").format(area=area_name(user, places, locale)),
             _("Events held: {n}").format(n=fmt_int(filed.report.events_held, locale)),
             _("People reached: {n}").format(n=fmt_int(filed.report.people_reached, locale))]
    if note:
        lines.append(_("Note: {note}").format(note=html.escape(note)))
    lines.append(_("To change it, send /week again this week."))
    await message.answer("\n".join(lines))
