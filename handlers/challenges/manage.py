"""Staff: /challenges management — a challenge's card, delete, close, edit a field or the
deadline, winners, the XLSX export (publishing a draft or the results: wizard.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import ChallengeAdminCD
from bot.config import Settings
from bot.middlewares import HEAVY_DB
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services import contest_xlsx
from bot.services.challenge_edit import editable
from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.challenges.keyboards import admin_kb, manage_kb
from handlers.challenges.texts import (
    CONTENT,
    PLACE,
    SUB_STATUS,
    manage_text,
    staff_list_text,
    winners_text,
)
from handlers.shared.errors import error_flags

routes = Routes(__name__)
TEXT = F.text & ~F.text.startswith("/")


class ChallengeEditSG(StatesGroup):
    value = State()  # data: cid, field
    winners = State()  # data: cid


async def send_staff_list(message: Message, session: AsyncSession, locale: str) -> None:
    rows = await svc.staff_list(session)
    if not rows:
        await message.answer(_("No challenges yet. Create one with /newchallenge."))
        return
    text, buttons = staff_list_text(rows, locale)
    await message.answer(text, reply_markup=admin_kb(buttons, columns=2))


async def send_manage(message: Message, session: AsyncSession, places: PlaceDirectory,
                      settings: Settings, locale: str, challenge_id: int) -> None:
    challenge = await svc.get_challenge(session, challenge_id)
    nominations, categories = await svc.get_options(session, challenge_id)
    counts = await svc.counts(session, challenge_id)
    text = manage_text(challenge, counts, nominations, categories, places, settings.tz, locale)
    await message.answer(text, reply_markup=manage_kb(challenge.id, challenge.status))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "man"))
async def on_manage(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                    places: PlaceDirectory, settings: Settings, locale: str) -> None:
    await send_manage(cb.message, session, places, settings, locale, callback_data.id)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "del"))
async def on_delete(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                    user: UserInfo) -> None:
    await svc.delete_draft(session, callback_data.id, user)
    await cb.message.answer(_("Draft No. {n} is deleted.").format(n=callback_data.id))


# Steps that cannot be taken back are asked first; "Yes" is the step's own button.
QUESTIONS = {
    "closeq": ("close", __("Close No. {n} now? No more entries will be accepted (extending the "
                           "deadline opens it again)."), __("⏹ Yes, close it")),
    "resq": ("res", __("Publish the results of No. {n}? Every participant gets a message at "
                       "once, and the places become final."), __("📣 Yes, publish")),
    "jdelq": ("jdel", __("Remove this juror from the jury of No. {n}? They will no longer get "
                         "entries to score."), __("➖ Yes, remove")),
}


@routes.callback_query(ChallengeAdminCD.filter(F.action.in_(set(QUESTIONS))))
async def on_question(cb: CallbackQuery, callback_data: ChallengeAdminCD) -> None:
    action, question, yes = QUESTIONS[callback_data.action]
    cid, arg = callback_data.id, callback_data.arg
    await cb.message.answer(str(question).format(n=cid), reply_markup=admin_kb(
        [(str(yes), action, cid, arg), (_("✖️ No"), "keep", cid, "")], columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "keep"))
async def on_keep(cb: CallbackQuery) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Cancelled. Nothing was saved."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "close"))
async def on_close(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                   clock: Callable[[], datetime], user: UserInfo) -> None:
    if await svc.close(session, callback_data.id, user, clock()):
        await cb.message.answer(_("No. {n} is closed: no more entries are accepted.").format(
            n=callback_data.id))
    else:
        await cb.message.answer(_("No. {n} is not open.").format(n=callback_data.id))


EDIT_LABELS = {
    "title_kk": __("Title (kk)"), "title_ru": __("Title (ru)"), "title_en": __("Title (en)"),
    "description_kk": __("Description (kk)"), "description_ru": __("Description (ru)"),
    "description_en": __("Description (en)"), "max_submissions": __("Entries per person"),
}


@routes.callback_query(ChallengeAdminCD.filter(F.action == "edit"))
async def on_edit(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                  session: AsyncSession) -> None:
    challenge = await editable(session, callback_data.id)
    cid = challenge.id
    rows = [(str(EDIT_LABELS[f]), "editf", cid, f) for f in svc.EDITABLE]
    # handlers/challenges/setup.py: audience, content, nominations and age categories
    rows += [(_("👥 Audience"), "eaud", cid, ""), (_("📎 Accepted content"), "eck", cid, "")]
    if challenge.kind == "contest":
        rows += [(_("🏷 Nominations"), "eopt", cid, "nomination"),
                 (_("🎚 Age categories"), "eopt", cid, "category")]
    await cb.message.answer(_("What do you want to change?"),
                            reply_markup=admin_kb(rows, columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action.in_({"editf", "ext"})))
async def on_edit_field(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                        state: FSMContext, session: AsyncSession) -> None:
    field = "deadline" if callback_data.action == "ext" else callback_data.arg
    if field != "deadline" and field not in svc.EDITABLE:
        return
    if field != "deadline":  # a closed challenge opens again by extending its deadline
        await editable(session, callback_data.id)
    await state.set_state(ChallengeEditSG.value)
    await state.set_data({"cid": callback_data.id, "field": field})
    if field == "deadline":
        await cb.message.answer(_("The new deadline, in Almaty time (e.g. 30.11.2026 18:00):"))
    else:
        await cb.message.answer(_("Type the new value of “{field}”:").format(
            field=EDIT_LABELS[field]))


@routes.message(ChallengeEditSG.value, TEXT, flags=error_flags(
    clear_state=frozenset({"not_found", "already_judged", "edit_closed"})))
async def on_edit_value(message: Message, state: FSMContext, session: AsyncSession,
                        places: PlaceDirectory, settings: Settings,
                        clock: Callable[[], datetime], user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    if data["field"] == "deadline":
        deadline = svc.parse_local_time(message.text, settings.tz, end_of_day=True)
        await svc.extend(session, data["cid"], deadline, user, clock())
    else:
        await svc.edit_field(session, data["cid"], data["field"], message.text, user)
    await state.clear()
    await message.answer(_("Saved."))
    await send_manage(message, session, places, settings, locale, data["cid"])


@routes.callback_query(ChallengeAdminCD.filter(F.action == "win"))
async def on_winners(cb: CallbackQuery, callback_data: ChallengeAdminCD, state: FSMContext,
                     session: AsyncSession, places: PlaceDirectory, settings: Settings,
                     locale: str) -> None:
    challenge = await svc.get_challenge(session, callback_data.id)
    if challenge.status != "closed":  # a stale button: results published, or reopened
        raise DomainError("already_judged" if challenge.status == "judged" else "not_closed")
    rows = await svc.export_rows(session, callback_data.id, locale, places, settings.tz,
                                 str(labels.WAITING_FOR_GUARDIAN))
    await state.set_state(ChallengeEditSG.winners)
    await state.set_data({"cid": callback_data.id})
    await cb.message.answer(winners_text(rows))


@routes.message(ChallengeEditSG.winners, TEXT)
async def on_winner_lines(message: Message, state: FSMContext, session: AsyncSession,
                          places: PlaceDirectory, settings: Settings, user: UserInfo,
                          locale: str) -> None:
    cid = (await state.get_data())["cid"]
    n = await svc.set_places(session, cid, svc.parse_winner_lines(message.text), user)
    await state.clear()
    await message.answer(ngettext("Saved the place for {n} entry.",
                                  "Saved places for {n} entries.", n).format(n=n))
    await send_manage(message, session, places, settings, locale, cid)


@routes.message(ChallengeEditSG())
async def on_edit_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


# --- export ---------------------------------------------------------------------------------

EXPORT_HEADERS = (__("Entry"), __("Participant"), __("Organisation"), __("Organisation type"),
                  __("Region"), __("District"), __("Nomination"), __("Age category"),
                  __("Status"), __("Place"), __("Submitted at (Almaty)"), __("Content"),
                  __("Text or link"), __("Comment"), __("Telegram file ids"))


async def send_export(message: Message, session: AsyncSession, places: PlaceDirectory,
                      settings: Settings, locale: str, challenge_id: int) -> None:
    await svc.get_challenge(session, challenge_id)
    rows = await svc.export_rows(session, challenge_id, locale, places, settings.tz,
                                 str(labels.WAITING_FOR_GUARDIAN))
    for r in rows:
        r[3] = str(labels.ORG_TYPE[r[3]]) if r[3] in labels.ORG_TYPE else r[3]
        r[8] = str(SUB_STATUS.get(r[8], r[8]))
        r[9] = str(PLACE[r[9]]) if r[9] in PLACE else ""
        r[11] = str(CONTENT.get(r[11], r[11]))
    waiting = str(labels.WAITING_FOR_GUARDIAN)
    extra = await contest_xlsx.review_and_jury(session, challenge_id, locale, settings.tz,
                                               _, waiting)
    headers = [str(h) for h in EXPORT_HEADERS] + [_(h) for h in contest_xlsx.REVIEW_HEADERS]
    if extra.criteria:  # a contest with a jury round: its result per entry, and every score
        headers += [_(h) for h in contest_xlsx.JURY_HEADERS]
    width = len(headers) - len(EXPORT_HEADERS)
    rows = [r + extra.per_entry.get(r[0], [""] * width)[:width] for r in rows]
    sheets = [(_("Entries"), headers, rows)]
    if extra.criteria:
        sheets.append((_("Jury scores"), [*(_(h) for h in contest_xlsx.SCORES_HEADERS),
                                          *extra.criteria, _("Total")], extra.scores))
    # Building a sheet of 10,000 entries takes about a second: not on the event loop.
    data = await asyncio.to_thread(contest_xlsx.build, sheets)
    await message.answer_document(
        BufferedInputFile(data, filename=f"challenge_{challenge_id}.xlsx"),
        caption=_("Entries of No. {n}: {count}").format(n=challenge_id, count=len(rows)))


@routes.message(Command("export_challenge"), flags=HEAVY_DB)
async def cmd_export(message: Message, command: CommandObject, read_session: AsyncSession,
                     places: PlaceDirectory, settings: Settings, locale: str) -> None:
    challenge_id = typed_int((command.args or "").strip().lstrip("#"))
    if challenge_id is None:
        await message.answer(_("Usage: /export_challenge N (the number from /challenges)."))
        return
    await send_export(message, read_session, places, settings, locale, challenge_id)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "xlsx"), flags=HEAVY_DB)
async def on_export(cb: CallbackQuery, callback_data: ChallengeAdminCD, read_session: AsyncSession,
                    places: PlaceDirectory, settings: Settings, locale: str) -> None:
    await send_export(cb.message, read_session, places, settings, locale, callback_data.id)
