"""/stats, /export_stats, /report, /leaderboard, /digest: statistics for staff and coordinators."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from typing import Any

from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App
from bot.i18n import fmt_int
from bot.middlewares import HEAVY_DB
from bot.routing import Routes
from bot.services import stats as st
from bot.services.challenges import get_challenge
from bot.services.errors import DomainError
from bot.services.numbers import as_int, check_digits, typed_int
from bot.services.text import short_html
from bot.services.users import UserInfo
from db.models import User
from db.models.challenges import Challenge
from handlers.shared.texts import ORG_SHOWN, error_text

routes = Routes(__name__)
TOP = 10


def _tools(app: App, locale: str) -> tuple[st.Translate, Callable[[int | float], str],
                                            Callable[[str, int], str]]:
    def tr(msgid: str) -> str:
        return app.translator.t(locale, msgid)

    return tr, (lambda v: fmt_int(v, locale)), st.place_namer(app.places, locale)


async def _period_and_scope(message: Message, command: CommandObject, app: App,
                            user: UserInfo | None, role: str,
                            ) -> tuple[st.Period, st.Scope] | None:
    try:
        scope = st.scope_of(role, user)
        period = st.parse_period(command.args, app.now(), app.settings.tz)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return None
    return period, scope


@routes.message(Command("stats"), flags=HEAVY_DB)
async def cmd_stats(message: Message, command: CommandObject, read_session: AsyncSession,
                    app: App, user: UserInfo | None, role: str, locale: str) -> None:
    found = await _period_and_scope(message, command, app, user, role)
    if found is None:
        return
    period, scope = found
    data = await st.collect(read_session, period, scope)
    tr, fmt, name = _tools(app, locale)
    text = st.render_text(data, tr, fmt, name)
    from bot.services import charts  # matplotlib: loaded on first use, not at start-up

    png = await asyncio.to_thread(charts.stats_chart, data, tr, name)
    await message.answer(text)
    await message.answer_photo(BufferedInputFile(png, filename="stats.png"),
                               caption=_("Statistics: {period}").format(
                                   period=period.label()))


@routes.message(Command("export_stats"), flags=HEAVY_DB)
async def cmd_export_stats(message: Message, command: CommandObject, read_session: AsyncSession,
                           app: App, user: UserInfo | None, role: str, locale: str) -> None:
    found = await _period_and_scope(message, command, app, user, role)
    if found is None:
        return
    period, scope = found
    tr, _fmt, name = _tools(app, locale)
    from bot.services import reports  # openpyxl / python-docx: loaded on first use

    data = await reports.export_xlsx(read_session, period, scope, tr, locale, name)
    filename = f"stats_{period.first_day.isoformat()}_{period.last_day.isoformat()}.xlsx"
    await message.answer_document(BufferedInputFile(data, filename=filename),
                                  caption=_("Statistics: {period}").format(
                                      period=period.label()))


@routes.message(Command("report"), flags=HEAVY_DB)
async def cmd_report(message: Message, command: CommandObject, read_session: AsyncSession,
                     app: App, locale: str) -> None:
    arg = (command.args or "").strip()
    try:
        typed = typed_int(arg, max_digits=4)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    year = typed if typed is not None else (app.now().astimezone(app.settings.tz).year
                                            if not arg else 0)
    if not 2000 <= year <= 2100:
        await message.answer(error_text(DomainError("stats_year")))
        return
    tr, fmt, name = _tools(app, locale)
    from bot.services import reports

    data = await reports.annual_docx(read_session, year, app.settings.tz, app.now(), tr, locale,
                                     fmt, name)
    await message.answer_document(BufferedInputFile(data, filename=f"report_{year}.docx"),
                                  caption=_("Annual report draft for {year}.").format(
                                      year=year))


@routes.message(Command("digest"))
async def cmd_digest(message: Message, command: CommandObject, session: AsyncSession,
                     app: App, user: UserInfo | None) -> None:
    arg = (command.args or "").strip().lower()
    if user is None:
        return
    if arg in ("on", "off"):
        await st.set_digest(session, user.id, arg == "on")
        app.users.forget(user.tg_id)
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


def _parse_board_arg(arg: str | None, app: App) -> tuple[st.Period | None, int | None]:
    words = (arg or "").split()
    check_digits(arg)
    if words and words[0].lower() == "challenge" and len(words) == 2:
        challenge_id = as_int(words[1], max_digits=9)
        if challenge_id is None:
            raise DomainError("stats_period")
        return None, challenge_id
    if len(words) == 1 and (challenge_id := as_int(words[0], max_digits=3)) is not None:
        return None, challenge_id
    return st.parse_period(arg, app.now(), app.settings.tz, default="year"), None


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


STUDENT_PERIODS = ("week", "month", "year")  # the rankings students get, kept a while


@routes.message(Command("leaderboard"), flags=HEAVY_DB)
async def cmd_leaderboard(message: Message, command: CommandObject, read_session: AsyncSession,
                          app: App, user: UserInfo | None, role: str, locale: str) -> None:
    try:
        check_digits(command.args)  # "٢٠٢٦": the digits answer, for students too
        if role == "student" and not _student_may_ask(command.args):
            raise DomainError("board_period_student")
        period, challenge_id = _parse_board_arg(command.args, app)
        scope = st.Scope() if role == "student" else st.scope_of(role, user)
        challenge = await get_challenge(read_session, challenge_id) if challenge_id else None
    except DomainError as exc:
        # the period error of /stats shows /stats, which students do not have
        if exc.code == "stats_period":
            code = "board_period_student" if role == "student" else "board_period"
        else:
            code = exc.code
        await message.answer(error_text(DomainError(code, **exc.details)))
        return
    _tr, fmt, name = _tools(app, locale)
    lines = _board_heading(challenge, period, locale)
    if role == "student":
        lines += await _student_place(read_session, app, user, period, challenge_id, fmt, name)
        await message.answer("\n".join(lines))
        return
    boards = ("orgs", "districts", "regions", "factions") if scope.is_country else (
        ("orgs", "districts", "factions") if scope.district_id is None else ("orgs", "factions"))
    board = await st.leaderboard(read_session, scope, period, challenge_id, boards)
    for key in boards:
        rows = board.boards[key]
        lines += ["", "<b>" + str(BOARD_TITLES[key]) + "</b>"]
        if not rows:
            lines.append(_("No points yet."))
        for row in rows[:TOP]:
            place, points = st.place_of(rows, row.key) or (0, 0)
            lines.append(f"{place}. {_row_name(key, row.key, name)} — {fmt(points)}")
    await message.answer("\n".join(lines))


def _student_may_ask(arg: str | None) -> bool:
    """A week, month or year, or one challenge: rankings that are kept for everyone (any
    other period would be one more full count of the log per request)."""
    words = (arg or "").lower().split()
    if len(words) == 1:  # a period, or a challenge's number (a year has four digits)
        return words[0] in STUDENT_PERIODS or as_int(words[0], max_digits=3) is not None
    return not words or (len(words) == 2 and words[0] == "challenge")


async def _student_place(session: AsyncSession, app: App, user: UserInfo | None,
                         period: st.Period | None, challenge_id: int | None,
                         fmt: Callable[[int | float], str],
                         name: Callable[[str, int], str]) -> list[str]:
    db_user = await session.get(User, user.id) if user else None
    key = st.org_key(db_user) if db_user else None
    if key is None:
        return [_("Your school is not in your profile.")]
    org = _row_name("orgs", key, name)
    cache_key = (period.first_day, period.last_day) if period else None, challenge_id
    country = (await app.boards.get(cache_key, lambda: st.leaderboard(
        session, st.Scope(), period, challenge_id, ("orgs",)))).boards["orgs"]
    found = st.place_of(country, key)
    if found is None:
        return ["", _("{org}: no points yet in this period.").format(org=org),
                _("The ranking is updated every few minutes.")]
    place, points = found
    lines = ["", _("{org}: {points} points.").format(org=org, points=fmt(points)),
             _("Place in the country: {place} of {total}.").format(
                 place=fmt(place), total=fmt(len(country)))]
    if db_user.district_id:
        local = st.district_rows(country, db_user.district_id)
        local_place = st.place_of(local, key)
        if local_place:
            lines.append(_("Place in your district: {place} of {total}.").format(
                place=fmt(local_place[0]), total=fmt(len(local))))
    return [*lines, _("The ranking is updated every few minutes.")]
