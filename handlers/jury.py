"""The jury: staff set it up with /jury N; jurors score entries with buttons."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChallengeAdminCD, ChallengeCD
from bot.factory import App
from bot.keyboards.challenges import admin_kb
from bot.services import challenges as svc
from bot.services import jury
from bot.services.errors import DomainError
from bot.services.users import UserInfo
from db.models.challenges import Challenge, Submission
from handlers.review import resend_media
from handlers.texts import error_text, register_errors

router = Router(name=__name__)

register_errors({
    "juror_unknown": __("No registered user has this Telegram id. They must /start the bot "
                        "first."),
    "jury_started": __("Scoring has started: the criteria can no longer change."),
    "jury_closed": __("The jury round is closed."),
    "jury_no_criteria": __("The jury criteria are not set yet."),
    "not_juror": __("You are not on the jury of this contest."),
    "recused": __("You cannot judge entries from your own region or organisation."),
})


class JurySG(StatesGroup):
    value = State()  # data: cid, field (criteria | quorum | juror)


# --- staff -----------------------------------------------------------------------------------

async def send_jury(message: Message, session: AsyncSession, locale: str, cid: int) -> None:
    challenge = await svc.get_challenge(session, cid)
    criteria = "; ".join(html.escape(jury.criterion_name(c, locale))
                         for c in challenge.jury_criteria or []) or "—"
    lines = [f"<b>{html.escape(challenge.text('title', locale))}</b>",
             _("Criteria (0–10 each): {items}").format(items=criteria),
             _("Scores needed per entry: {n}").format(n=challenge.jury_quorum)]
    if challenge.jury_closed_at:
        lines.append(_("The jury round is closed."))
    progress = await jury.progress(session, cid)
    lines.append(_("Jurors (entries scored / entries to score):"))
    lines += [f"• {html.escape(p.name)}: {p.done} / {p.eligible}" for p in progress] or ["—"]
    rows = [(_("Criteria"), "jcrit", cid, ""), (_("Quorum"), "jq", cid, ""),
            (_("➕ Add a juror"), "jadd", cid, ""), (_("🏅 Ranking"), "jrank", cid, "")]
    rows += [(_("➖ {name}").format(name=p.name[:30]), "jdel", cid, str(p.user_id))
             for p in progress]
    if challenge.jury_closed_at is None:
        rows.append((_("⏹ Close the round"), "jclose", cid, ""))
    await message.answer("\n".join(lines), reply_markup=admin_kb(rows, columns=2))


@router.message(Command("jury"))
async def cmd_jury(message: Message, command: CommandObject, session: AsyncSession,
                   locale: str) -> None:
    arg = (command.args or "").strip().lstrip("#№")
    if not arg.isdigit():
        rows = [(f"{c.id} · {c.text('title', locale)[:40]}", "jury", c.id, "")
                for c, _p, _s in (await svc.staff_list(session))[:30]
                if c.kind == "contest" and c.status != "draft"]
        await message.answer(_("Usage: /jury N. Contests:") if rows else
                             _("Usage: /jury N (the number from /challenges)."),
                             reply_markup=admin_kb(rows) if rows else None)
        return
    try:
        await send_jury(message, session, locale, int(arg))
    except DomainError as exc:
        await message.answer(error_text(exc))


@router.callback_query(ChallengeAdminCD.filter(F.action == "jury"))
async def on_jury(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                  locale: str) -> None:
    try:
        await send_jury(cb.message, session, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


ASK = {
    "jcrit": __("Type the criteria, one per line as “Kazakh | Russian | English”, e.g.\n"
                "Идея | Идея | Idea\nОрындалуы | Исполнение | Execution"),
    "jq": __("How many jurors must score each entry? Type a number:"),
    "jadd": __("Type the juror's Telegram id (they must have started the bot):"),
}


@router.callback_query(ChallengeAdminCD.filter(F.action.in_(set(ASK))))
async def on_jury_ask(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                      state: FSMContext) -> None:
    await state.set_state(JurySG.value)
    await state.set_data({"cid": callback_data.id, "field": callback_data.action})
    await cb.message.answer(str(ASK[callback_data.action]))


@router.message(JurySG.value, F.text)
async def on_jury_value(message: Message, state: FSMContext, session: AsyncSession, app: App,
                        user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    text = message.text.strip()
    try:
        if data["field"] == "jcrit":
            await jury.set_criteria(session, data["cid"], text, user)
        elif data["field"] == "jq":
            await jury.set_quorum(session, data["cid"], text, user)
        else:
            if not text.lstrip("-").isdigit():
                raise DomainError("juror_unknown")
            await jury.add_juror(session, app, data["cid"], int(text), user)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    await message.answer(_("Saved."))
    await send_jury(message, session, locale, data["cid"])


@router.message(JurySG.value)
async def on_jury_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


@router.callback_query(ChallengeAdminCD.filter(F.action == "jdel"))
async def on_juror_remove(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                          session: AsyncSession, user: UserInfo, locale: str) -> None:
    if callback_data.arg.isdigit():
        await jury.remove_juror(session, callback_data.id, int(callback_data.arg), user)
    await send_jury(cb.message, session, locale, callback_data.id)


@router.callback_query(ChallengeAdminCD.filter(F.action == "jclose"))
async def on_jury_close(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                        session: AsyncSession, app: App, user: UserInfo, locale: str) -> None:
    await jury.close_round(session, callback_data.id, user, app.now())
    await send_jury(cb.message, session, locale, callback_data.id)


@router.callback_query(ChallengeAdminCD.filter(F.action == "jrank"))
async def on_ranking(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     locale: str) -> None:
    groups = await jury.rankings(session, callback_data.id)
    if not groups:
        await cb.message.answer(_("No complete scores yet."))
        return
    nominations, categories = await svc.get_options(session, callback_data.id)
    names = {o.id: o.name(locale) for o in (*nominations, *categories)}
    lines = [_("Ranking by mean score (= marks a tie; ✓ the quorum is reached):")]
    for (nom, cat), items in sorted(groups.items(), key=lambda g: (g[0][0] or 0, g[0][1] or 0)):
        head = " / ".join(html.escape(names[k]) for k in (nom, cat) if k in names)
        lines += ["", f"<b>{head or '—'}</b>"]
        for r in items[:50]:
            lines.append(_("{rank}{tie}. No. {n} — {mean} (scores: {count}){ok}").format(
                rank=r.rank, tie="=" if r.tied else "", n=r.submission_id,
                mean=f"{r.mean:.2f}", count=r.scores, ok=" ✓" if r.quorum else ""))
    lines += ["", _("Mark winners with 🏆 in /challenges.")]
    await cb.message.answer("\n".join(lines))


# --- jurors ------------------------------------------------------------------------------------

def score_kb(submission_id: int, criterion: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in range(jury.SCORE_MAX + 1):
        kb.button(text=str(value), callback_data=ChallengeCD(
            action="js", id=submission_id, arg=f"{criterion}_{value}"))
    kb.adjust(6, 5)
    return kb.as_markup()


async def show_entry(message: Message, session: AsyncSession, user: UserInfo, locale: str,
                     cid: int, resend: bool = True) -> None:
    found = await jury.next_entry(session, cid, user.id)
    if found is None:
        await message.answer(_("You have scored every entry that needs your score. Thank you!"))
        return
    sub, criterion = found.submission, found.criterion
    challenge = await svc.get_challenge(session, cid)
    await ask_criterion(message, session, locale, challenge, sub, criterion, resend)


async def ask_criterion(message: Message, session: AsyncSession, locale: str,
                        challenge: Challenge, sub: Submission, criterion: int,
                        resend: bool) -> None:
    if resend:
        await resend_media(message, sub)
    options = {o.id: o.name(locale) for group in await svc.get_options(session, sub.challenge_id)
               for o in group}
    extra = " / ".join(html.escape(options[k]) for k in (sub.nomination_id, sub.category_id)
                       if k in options)
    criteria = challenge.jury_criteria
    name = html.escape(jury.criterion_name(criteria[criterion], locale))
    text = _("<b>Entry No. {n}</b> {extra}\nCriterion {k} of {total}: <b>{name}</b>. "
             "Your score:").format(n=sub.id, extra=extra, k=criterion + 1, total=len(criteria),
                                   name=name)
    await message.answer(text, reply_markup=score_kb(sub.id, criterion))


@router.callback_query(ChallengeCD.filter(F.action == "jury"))
async def on_start_judging(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                           user: UserInfo, locale: str) -> None:
    try:
        await show_entry(cb.message, session, user, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


@router.callback_query(ChallengeCD.filter(F.action == "js"))
async def on_score(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                   user: UserInfo, app: App, locale: str) -> None:
    criterion, _sep, value = callback_data.arg.partition("_")
    if not criterion.isdigit() or not value.isdigit():
        return
    try:
        challenge, complete = await jury.score(session, callback_data.id, user.id,
                                               int(criterion), int(value), app.now())
        if complete:
            await cb.message.answer(_("Saved: entry No. {n} is scored.").format(
                n=callback_data.id))
            await show_entry(cb.message, session, user, locale, challenge.id)
        else:
            sub = await session.get(Submission, callback_data.id)
            await ask_criterion(cb.message, session, locale, challenge, sub, int(criterion) + 1,
                                resend=False)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
