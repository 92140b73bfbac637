"""/stats, /export_stats, /report, /leaderboard, /digest: statistics for staff and coordinators."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.config import Settings
from bot.i18n import PoI18n, fmt_int
from bot.middlewares import HEAVY_DB
from bot.routing import Routes
from bot.services import stats as st
from bot.services.challenges import get_challenge
from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from bot.services.places import PlaceDirectory
from bot.services.stats import BoardCache
from bot.services.text import short_html
from bot.services.users import UserCache, UserInfo
from db.models import User
from db.models.challenges import Challenge
from handlers.shared.texts import ORG_SHOWN

routes = Routes(__name__)
TOP = 10


Clock = Callable[[], datetime]


def _tools(i18n: PoI18n, places: PlaceDirectory, locale: str,
           ) -> tuple[st.Translate, Callable[[int | float], str], Callable[[str, int], str]]:
    def tr(msgid: str) -> str:
        return i18n.translator.t(locale, msgid)

    return tr, (lambda v: fmt_int(v, locale)), st.place_namer(places, locale)


def _period_and_scope(command: CommandObject, now: datetime, tz: ZoneInfo,
                      user: UserInfo | None, role: str) -> tuple[st.Period, st.Scope]:
    scope = st.scope_of(role, user)
    return st.parse_period(command.args, now, tz), scope


@routes.message(Command("stats"), flags=HEAVY_DB)
async def cmd_stats(message: Message, command: CommandObject, read_session: AsyncSession,
                    i18n: PoI18n, places: PlaceDirectory, settings: Settings, clock: Clock,
                    user: UserInfo | None, role: str, locale: str) -> None:
    period, scope = _period_and_scope(command, clock(), settings.tz, user, role)
    data = await st.collect(read_session, period, scope)
    tr, fmt, name = _tools(i18n, places, locale)
    text = st.render_text(data, tr, fmt, name)
    from bot.services import charts  # matplotlib: loaded on first use, not at start-up

    png = await asyncio.to_thread(charts.stats_chart, data, tr, name)
    await message.answer(text)
    await message.answer_photo(BufferedInputFile(png, filename="stats.png"),
                               caption=_("Statistics: {period}").format(
                                   period=period.label()))


@routes.message(Command("export_stats"), flags=HEAVY_DB)
async def cmd_export_stats(message: Message, command: CommandObject, read_session: AsyncSession,
                           i18n: PoI18n, places: PlaceDirectory, settings: Settings,
                           clock: Clock, user: UserInfo | None, role: str, locale: str) -> None:
    period, scope = _period_and_scope(command, clock(), settings.tz, user, role)
    tr, _fmt, name = _tools(i18n, places, locale)
    from bot.services import reports  # openpyxl / python-docx: loaded on first use

    data = await reports.export_xlsx(read_session, period, scope, tr, locale, name)
    filename = f"stats_{period.first_day.isoformat()}_{period.last_day.isoformat()}.xlsx"
    await message.answer_document(BufferedInputFile(data, filename=filename),
                                  caption=_("Statistics: {period}").format(
                                      period=period.label()))


@routes.message(Command("report"), flags=HEAVY_DB)
async def cmd_report(message: Message, command: CommandObject, read_session: AsyncSession,
                     i18n: PoI18n, places: PlaceDirectory, settings: Settings, clock: Clock,
                     locale: str) -> None:
    arg = (command.args or "").strip()
    typed = typed_int(arg, max_digits=4)
    year = typed if typed is not None else (clock().astimezone(settings.tz).year
                                            if not arg else 0)
    if not 2000 <= year <= 2100:
        raise DomainError("stats_year")
    tr, fmt, name = _tools(i18n, places, locale)
    from bot.services.annual import annual_docx  # python-docx, matplotlib: on first use

    data = await annual_docx(read_session, year, settings.tz, clock(), tr, locale,
                                     fmt, name)
    await message.answer_document(BufferedInputFile(data, filename=f"report_{year}.docx"),
                                  caption=_("Annual report draft for {year}.").format(
                                      year=year))


@routes.message(Command("digest"))
async def cmd_digest(message: Message, command: CommandObject, session: AsyncSession,
                     users: UserCache, user: UserInfo | None) -> None:
    arg = (command.args or "").strip().lower()
    if user is None:
        return
    if arg in ("on", "off"):
        await st.set_digest(session, user.id, arg == "on")
        users.forget(user.tg_id)
        await message.answer(_("The weekly report is switched on.") if arg == "on"
                             else _("The weekly report is switched off."))
        return
    db_user = await session.get(User, user.id)
    enabled = st.digest_enabled(db_user.settings if db_user else None)
    await message.answer(
        (_("The weekly report is switched on.") if enabled
         else _("The weekly report is switched off."))
        + "\n" + _("It comes every Monday at 09:00. Send /digest on or /digest off."))


# ---------------------------------------------------------------- leaderboard

BOARD_TITLES = {
    "orgs": __("Schools, colleges and universities"),
    "districts": __("Districts and cities"),
    "regions": __("Regions"),
    "factions": __("Factions"),
}


def _row_name(board: str, key: tuple[Any, ...], name: Callable[[str, int], str]) -> str:
    if board == "orgs":
        region_id, district_id, org = key
        where = name("district", district_id) if district_id else name("region", region_id)
        return f"{short_html(org, ORG_SHOWN)} ({html.escape(where)})"
    if board == "districts":
        return html.escape(name("district", key[0]))
    if board == "regions":
        return html.escape(name("region", key[0]))
    return labels.label(labels.FACTION, key[0])


def _board_heading(challenge: Challenge | None, period: st.Period | None,
                   locale: str) -> list[str]:
    """The title names the contest or period; one contest's points have no webinars."""
    if challenge is None:
        what = period.label() if period else ""
        points = _("Points: joined 1, entry 2, entry approved 3, winner 10, webinar "
                   "attended 1.")
    else:
        what = _("No. {n}").format(n=challenge.id) + " «" + html.escape(
            challenge.text("title", locale)) + "»"
        points = _("Points: joined 1, entry 2, entry approved 3, winner 10.")
    return ["🏆 <b>" + _("Leaderboard: {what}").format(what=what) + "</b>",
            "<i>" + points + "</i>"]


@routes.message(Command("leaderboard"), flags=HEAVY_DB)
async def cmd_leaderboard(message: Message, command: CommandObject, read_session: AsyncSession,
                          i18n: PoI18n, places: PlaceDirectory, settings: Settings,
                          clock: Clock, boards: BoardCache, user: UserInfo | None, role: str,
                          locale: str) -> None:
    period, challenge_id = st.board_request(command.args, role, clock(), settings.tz)
    scope = st.Scope() if role == "student" else st.scope_of(role, user)
    challenge = await get_challenge(read_session, challenge_id) if challenge_id else None
    _tr, fmt, name = _tools(i18n, places, locale)
    lines = _board_heading(challenge, period, locale)
    if role == "student":
        lines += await _student_place(read_session, boards, user, period, challenge_id, fmt,
                                      name)
        await message.answer("\n".join(lines))
        return
    shown = ("orgs", "districts", "regions", "factions") if scope.is_country else (
        ("orgs", "districts", "factions") if scope.district_id is None else ("orgs", "factions"))
    board = await st.leaderboard(read_session, scope, period, challenge_id, shown)
    for key in shown:
        rows = board.boards[key]
        lines += ["", "<b>" + str(BOARD_TITLES[key]) + "</b>"]
        if not rows:
            lines.append(_("No points yet."))
        for row in rows[:TOP]:
            place, points = st.place_of(rows, row.key) or (0, 0)
            lines.append(f"{place}. {_row_name(key, row.key, name)} — {fmt(points)}")
    await message.answer("\n".join(lines))


async def _student_place(session: AsyncSession, boards: BoardCache, user: UserInfo | None,
                         period: st.Period | None, challenge_id: int | None,
                         fmt: Callable[[int | float], str],
                         name: Callable[[str, int], str]) -> list[str]:
    db_user = await session.get(User, user.id) if user else None
    key = st.org_key(db_user) if db_user else None
    if key is None:
        return [_("Your school is not in your profile.")]
    org = _row_name("orgs", key, name)
    cache_key = (period.first_day, period.last_day) if period else None, challenge_id
    country = (await boards.get(cache_key, lambda: st.leaderboard(
        session, st.Scope(), period, challenge_id, ("orgs",)))).boards["orgs"]
    found = st.place_of(country, key)
    if found is None:
        return ["", _("{org}: no points yet in this period.").format(org=org),
                _("The ranking is updated every few minutes.")]
    place, points = found
    lines = ["", ngettext("{org}: {points} point.", "{org}: {points} points.",
                                 int(points)).format(org=org, points=fmt(points)),
             _("Place in the country: {place} of {total}.").format(
                 place=fmt(place), total=fmt(len(country)))]
    if db_user.district_id:
        local = st.district_rows(country, db_user.district_id)
        local_place = st.place_of(local, key)
        if local_place:
            lines.append(_("Place in your district: {place} of {total}.").format(
                place=fmt(local_place[0]), total=fmt(len(local))))
    return [*lines, _("The ranking is updated every few minutes.")]
