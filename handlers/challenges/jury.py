"""The jury: staff set it up with /jury N; jurors score entries with buttons (the ranking
and the places it gives: handlers/challenges/ranking.py)."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChallengeAdminCD, ChallengeCD, PickCD
from bot.notices.challenges import ChallengeNotices
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services import jury, people
from bot.services.errors import DomainError
from bot.services.jury_seats import recused_from_all
from bot.services.numbers import as_int, typed_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from db.models.challenges import Challenge, Submission
from handlers.challenges.jury_texts import (
    close_round_question,
    criterion_text,
    jury_rows,
    jury_text,
)
from handlers.challenges.keyboards import admin_kb, rows_kb, score_kb
from handlers.challenges.media import media_note, resend_media
from handlers.shared import picker
from handlers.shared.errors import StaleButton, error_flags
from handlers.shared.texts import error_text

routes = Routes(__name__)


class JurySG(StatesGroup):
    value = State()  # data: cid, field (jcrit: criteria | jq: quorum)
    juror = State()  # data: cid; a person named through the people picker


# a prompt answered after one of these can never succeed: the flow ends
FINAL = frozenset({"not_found", "already_judged", "jury_contest_only"})


# --- staff -----------------------------------------------------------------------------------

async def send_jury(message: Message, session: AsyncSession, locale: str, cid: int) -> None:
    challenge = await svc.get_challenge(session, cid)
    if challenge.kind != "contest":
        raise DomainError("jury_contest_only")
    progress = await jury.progress(session, cid)
    await message.answer(jury_text(challenge, progress, locale),
                         reply_markup=admin_kb(jury_rows(challenge, progress), columns=2))


@routes.message(Command("jury"))
async def cmd_jury(message: Message, command: CommandObject, session: AsyncSession,
                   locale: str) -> None:
    cid = typed_int((command.args or "").strip().lstrip("#№"))
    if cid is None:
        rows = [(f"{c.id} · {c.text('title', locale)[:40]}", "jury", c.id, "")
                for c, _p, _s in (await svc.staff_list(session))[:30]
                if c.kind == "contest" and c.status != "draft"]
        await message.answer(_("Usage: /jury N. Contests:") if rows else
                             _("Usage: /jury N (the number from /challenges)."),
                             reply_markup=admin_kb(rows) if rows else None)
        return
    await send_jury(message, session, locale, cid)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jury"))
async def on_jury(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                  locale: str) -> None:
    await send_jury(cb.message, session, locale, callback_data.id)


ASK = {
    "jcrit": __("Type the criteria, one per line as “Kazakh | Russian | English”, e.g.\n"
                "Идея | Идея | Idea\nОрындалуы | Исполнение | Execution"),
    "jq": __("How many jurors must score each entry? Type a number:"),
    "jadd": __("Whom should I add to the jury?"),
}


@routes.callback_query(ChallengeAdminCD.filter(F.action.in_(set(ASK))))
async def on_jury_ask(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                      state: FSMContext, session: AsyncSession) -> None:
    await jury.jury_editable(session, callback_data.id)  # an old button: refused before asking
    await state.set_data({"cid": callback_data.id, "field": callback_data.action})
    if callback_data.action == "jadd":  # a person: by name, @username, Telegram's picker
        await state.set_state(JurySG.juror)
        await state.update_data(picker=True)
        await cb.message.answer(str(ASK["jadd"]) + " " + picker.how_to_name(cb.message),
                                reply_markup=picker.picker_keyboard("jury"))
        return
    await state.set_state(JurySG.value)
    await cb.message.answer(str(ASK[callback_data.action]))


@routes.message(JurySG.value, F.text, flags=error_flags(clear_state=FINAL))
async def on_jury_value(message: Message, state: FSMContext, session: AsyncSession,
                        user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    text = message.text.strip()
    if data["field"] == "jcrit":
        await jury.set_criteria(session, data["cid"], text, user)
    else:
        await jury.set_quorum(session, data["cid"], text, user)
    await state.clear()
    await message.answer(_("Saved."))
    await send_jury(message, session, locale, data["cid"])


@routes.message(JurySG.juror, picker.ANSWER, flags=error_flags(clear_state=FINAL))
async def on_juror_named(message: Message, state: FSMContext, session: AsyncSession,
                         challenge_notices: ChallengeNotices, clock: Callable[[], datetime],
                         places: PlaceDirectory, user: UserInfo, locale: str) -> None:
    """A name (several matches: buttons), @username, a shared user or contact, or an id."""
    cid = (await state.get_data())["cid"]
    tg_id = await picker.named(message, session, places, locale, people.scope_of(user),
                               "jury", arg=cid)
    if tg_id is not None:
        await add_juror(message, state, session, challenge_notices, clock, user, locale, cid,
                        tg_id)


@routes.callback_query(PickCD.filter(F.purpose == "jury"))
async def on_juror_picked(cb: CallbackQuery, callback_data: PickCD, state: FSMContext,
                          session: AsyncSession, challenge_notices: ChallengeNotices,
                          clock: Callable[[], datetime], user: UserInfo, locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await add_juror(cb.message, state, session, challenge_notices, clock, user, locale,
                    callback_data.arg, callback_data.tg_id)


async def add_juror(message: Message, state: FSMContext, session: AsyncSession,
                    notices: ChallengeNotices, clock: Callable[[], datetime], user: UserInfo,
                    locale: str, cid: int, tg_id: int) -> None:
    juror = await jury.add_juror(session, notices, cid, tg_id, user, clock())
    if await state.get_state() == JurySG.juror.state:  # an old list's button ends no other flow
        await state.clear()
    await message.answer(_("{name} is on the jury now; they get an invitation.").format(
        name=html.escape(juror.full_name or str(tg_id))), reply_markup=picker.NO_KEYBOARD)
    await send_jury(message, session, locale, cid)


@routes.message(JurySG.juror)
async def on_juror_need_answer(message: Message) -> None:
    await message.answer(_("Type a name, an @username or a Telegram id, or choose the person "
                           "with the button. /cancel to stop."))


@routes.message(JurySG.value)
async def on_jury_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jdel"))
async def on_juror_remove(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                          session: AsyncSession, user: UserInfo, locale: str) -> None:
    if (juror_id := as_int(callback_data.arg)) is not None:
        await jury.remove_juror(session, callback_data.id, juror_id, user)
    await send_jury(cb.message, session, locale, callback_data.id)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jclose"))
async def on_jury_close(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                        session: AsyncSession, locale: str) -> None:
    """Closing stops every juror: asked first, with what is scored so far."""
    cid = callback_data.id
    challenge = await jury.jury_editable(session, cid)
    if challenge.jury_closed_at is not None:  # an old button: show where things are
        await send_jury(cb.message, session, locale, cid)
        return
    progress = await jury.progress(session, cid)
    await cb.message.answer(
        close_round_question(challenge, progress, locale),
        reply_markup=admin_kb([(_("⏹ Yes, close the round"), "jcloseok", cid, ""),
                               (_("✖️ No, keep it open"), "jcloseno", cid, "")], columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jcloseok"))
async def on_jury_close_confirmed(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                                  session: AsyncSession, clock: Callable[[], datetime],
                                  user: UserInfo, locale: str) -> None:
    await jury.close_round(session, callback_data.id, user, clock())
    await send_jury(cb.message, session, locale, callback_data.id)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jcloseno"))
async def on_jury_close_cancelled(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                                  session: AsyncSession, locale: str) -> None:
    challenge = await jury.jury_editable(session, callback_data.id)
    if challenge.jury_closed_at is not None:  # closed meanwhile (another staff member)
        await send_jury(cb.message, session, locale, callback_data.id)
        return
    await cb.message.answer(_("Cancelled: the jury round stays open."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jopen"))
async def on_jury_reopen(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                         session: AsyncSession, user: UserInfo, locale: str) -> None:
    await jury.reopen_round(session, callback_data.id, user)
    await cb.message.answer(_("The jury round is open again: jurors can score."))
    await send_jury(cb.message, session, locale, callback_data.id)


# --- jurors ------------------------------------------------------------------------------------

async def show_entry(message: Message, session: AsyncSession, user: UserInfo, locale: str,
                     cid: int, resend: bool = True) -> None:
    found = await jury.next_entry(session, cid, user.id)
    if found is None:
        if await jury.in_review(session, cid):
            await message.answer(
                _("There is nothing for you to score right now. Some entries are still being "
                  "reviewed: press the button again later."),
                reply_markup=rows_kb([(_("Start judging"),
                                       ChallengeCD(action="jury", id=cid).pack())]))
            return
        if await recused_from_all(session, cid, user.id):
            await message.answer(_("You cannot score any entry of this contest: each one is "
                                   "your own or comes from your region or organisation, and a "
                                   "juror never judges those. Nothing is needed from you."))
            return
        await message.answer(_("You have scored every entry that needs your score. Thank you!"))
        return
    sub, criterion = found.submission, found.criterion
    challenge = await svc.get_challenge(session, cid)
    await ask_criterion(message, session, locale, challenge, sub, criterion, resend)


async def ask_criterion(message: Message, session: AsyncSession, locale: str,
                        challenge: Challenge, sub: Submission, criterion: int,
                        resend: bool) -> None:
    shown = await resend_media(message, sub) if resend else True
    options = {o.id: o.name(locale) for group in await svc.get_options(session, sub.challenge_id)
               for o in group}
    text = criterion_text(challenge, sub, criterion, options, locale)
    text = "\n".join([text, *media_note(shown)])
    await message.answer(text, reply_markup=score_kb(sub.id, criterion))


@routes.message(Command("judge"))
async def cmd_judge(message: Message, session: AsyncSession, user: UserInfo,
                    locale: str) -> None:
    """A juror's way in that does not depend on the invitation message."""
    contests = await jury.juries_of(session, user.id)
    if not contests:
        await message.answer(_("You are not on the jury of any contest right now."))
        return
    await message.answer(_("Contests you judge:"), reply_markup=rows_kb([
        (f"⚖️ {c.text('title', locale)[:50]}", ChallengeCD(action="jury", id=c.id).pack())
        for c in contests]))


@routes.callback_query(ChallengeCD.filter(F.action == "jury"))
async def on_start_judging(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                           user: UserInfo, locale: str) -> None:
    await show_entry(cb.message, session, user, locale, callback_data.id)


# refusals of a score after which the entry that does wait for this juror is shown
GO_ON = ("not_offered", "quorum_reached")


@routes.callback_query(ChallengeCD.filter(F.action == "js"))
async def on_score(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                   user: UserInfo, clock: Callable[[], datetime], locale: str) -> None:
    raw_criterion, _sep, raw_value = callback_data.arg.partition("_")
    criterion, value = as_int(raw_criterion, max_digits=3), as_int(raw_value, max_digits=3)
    if criterion is None or value is None:  # a forged or mangled button
        raise StaleButton()
    try:
        challenge, complete = await jury.score(session, callback_data.id, user.id,
                                               criterion, value, clock())
    except DomainError as exc:
        if exc.code not in GO_ON:
            raise  # the shared error handler answers it
        # answered here: the entry that does wait for this juror follows, so they go on
        await cb.message.answer(error_text(exc))
        sub = await session.get(Submission, callback_data.id)
        await show_entry(cb.message, session, user, locale, sub.challenge_id)
        return
    if complete:
        await cb.message.answer(_("Saved: entry No. {n} is scored.").format(n=callback_data.id))
        await show_entry(cb.message, session, user, locale, challenge.id)
    else:
        sub = await session.get(Submission, callback_data.id)
        await ask_criterion(cb.message, session, locale, challenge, sub, criterion + 1,
                            resend=False)
