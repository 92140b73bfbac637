"""The jury: staff set it up with /jury N; jurors score entries with buttons."""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.callbacks import ChallengeAdminCD, ChallengeCD
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services import jury
from bot.services.errors import DomainError
from bot.services.numbers import as_int, typed_int
from bot.services.text import TEXT_LIMIT, fit, seen_length, short_html
from bot.services.users import UserInfo
from db.models.challenges import Challenge, Submission
from handlers.challenges.browse import PLACE
from handlers.challenges.keyboards import admin_kb, rows_kb
from handlers.challenges.review import media_note, resend_media
from handlers.challenges.wizard import send_manage
from handlers.shared.texts import NAME_SHOWN, error_text

routes = Routes(__name__)


class JurySG(StatesGroup):
    value = State()  # data: cid, field (criteria | quorum | juror)


# a prompt answered after one of these can never succeed: the flow ends
FINAL = ("not_found", "already_judged", "jury_contest_only")


# --- staff -----------------------------------------------------------------------------------

async def send_jury(message: Message, session: AsyncSession, locale: str, cid: int) -> None:
    challenge = await svc.get_challenge(session, cid)
    if challenge.kind != "contest":
        raise DomainError("jury_contest_only")
    judged = challenge.status == "judged"
    criteria = "; ".join(html.escape(jury.criterion_name(c, locale))
                         for c in challenge.jury_criteria or []) or "—"
    lines = [f"<b>{html.escape(challenge.text('title', locale))}</b>",
             _("Criteria (0–10 each): {items}").format(items=criteria),
             _("Scores needed per entry: {n}").format(n=challenge.jury_quorum)]
    if challenge.jury_closed_at or judged:
        lines.append(_("The jury round is closed."))
    if judged:  # nothing about the jury changes any more: only the ranking is offered
        lines.append(_("The results are already published."))
    progress = await jury.progress(session, cid)
    lines.append(_("Jurors (entries scored / entries to score):"))
    lines += [f"• {short_html(p.name, NAME_SHOWN)}: {p.done} / {p.eligible}"
              for p in progress] or ["—"]
    if judged:
        rows = [(_("🏅 Ranking"), "jrank", cid, "")]
    else:
        rows = [(_("Criteria"), "jcrit", cid, ""), (_("Quorum"), "jq", cid, ""),
                (_("➕ Add a juror"), "jadd", cid, ""), (_("🏅 Ranking"), "jrank", cid, "")]
        rows += [(_("➖ {name}").format(name=p.name[:30]), "jdelq", cid, str(p.user_id))
                 for p in progress]
        if challenge.jury_closed_at is None:
            rows.append((_("⏹ Close the round"), "jclose", cid, ""))
        else:  # until the results are published the round can open again
            rows.append((_("▶️ Reopen the round"), "jopen", cid, ""))
    await message.answer("\n".join(lines), reply_markup=admin_kb(rows, columns=2))


@routes.message(Command("jury"))
async def cmd_jury(message: Message, command: CommandObject, session: AsyncSession,
                   locale: str) -> None:
    try:
        cid = typed_int((command.args or "").strip().lstrip("#№"))
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    if cid is None:
        rows = [(f"{c.id} · {c.text('title', locale)[:40]}", "jury", c.id, "")
                for c, _p, _s in (await svc.staff_list(session))[:30]
                if c.kind == "contest" and c.status != "draft"]
        await message.answer(_("Usage: /jury N. Contests:") if rows else
                             _("Usage: /jury N (the number from /challenges)."),
                             reply_markup=admin_kb(rows) if rows else None)
        return
    try:
        await send_jury(message, session, locale, cid)
    except DomainError as exc:
        await message.answer(error_text(exc))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jury"))
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


@routes.callback_query(ChallengeAdminCD.filter(F.action.in_(set(ASK))))
async def on_jury_ask(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                      state: FSMContext, session: AsyncSession) -> None:
    try:  # an old button: refused before asking, not after the answer
        await jury.jury_editable(session, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await state.set_state(JurySG.value)
    await state.set_data({"cid": callback_data.id, "field": callback_data.action})
    await cb.message.answer(str(ASK[callback_data.action]))


@routes.message(JurySG.value, F.text)
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
            await jury.add_juror(session, app.challenge_notices, data["cid"],
                                 juror_tg_id(text), user, app.now())
    except DomainError as exc:
        await message.answer(error_text(exc))
        if exc.code in FINAL:
            await state.clear()
        return
    await state.clear()
    await message.answer(_("Saved."))
    await send_jury(message, session, locale, data["cid"])


def juror_tg_id(text: str) -> int:
    """A Telegram id as typed: ASCII digits ("abc", "²" or "٣" are no id; the reply says
    what an id looks like)."""
    digits = text.strip()
    tg_id = as_int(digits, max_digits=64)
    if tg_id is None:
        raise DomainError("juror_id_not_number")
    if len(digits) > 15:  # longer than any Telegram id: nobody has it
        raise DomainError("juror_unknown")
    return tg_id


@routes.message(JurySG.value)
async def on_jury_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jdel"))
async def on_juror_remove(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                          session: AsyncSession, user: UserInfo, locale: str) -> None:
    try:
        if (juror_id := as_int(callback_data.arg)) is not None:
            await jury.remove_juror(session, callback_data.id, juror_id, user)
        await send_jury(cb.message, session, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jclose"))
async def on_jury_close(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                        session: AsyncSession, locale: str) -> None:
    """Closing stops every juror: asked first, with what is scored so far."""
    cid = callback_data.id
    try:
        challenge = await jury.jury_editable(session, cid)
        if challenge.jury_closed_at is not None:  # an old button: show where things are
            await send_jury(cb.message, session, locale, cid)
            return
        progress = await jury.progress(session, cid)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    title = html.escape(challenge.text("title", locale))
    await cb.message.answer(
        _("Close the jury round of “{title}”? Jurors will no longer be able to score. Scores "
          "given so far by all jurors together: {done} of {todo}. You can reopen the round "
          "until the results are published.").format(
            title=title, done=sum(p.done for p in progress),
            todo=sum(p.eligible for p in progress)),
        reply_markup=admin_kb([(_("⏹ Yes, close the round"), "jcloseok", cid, ""),
                               (_("✖️ No, keep it open"), "jcloseno", cid, "")], columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jcloseok"))
async def on_jury_close_confirmed(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                                  session: AsyncSession, app: App, user: UserInfo,
                                  locale: str) -> None:
    try:
        await jury.close_round(session, callback_data.id, user, app.now())
        await send_jury(cb.message, session, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jcloseno"))
async def on_jury_close_cancelled(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                                  session: AsyncSession, locale: str) -> None:
    try:
        challenge = await jury.jury_editable(session, callback_data.id)
        if challenge.jury_closed_at is not None:  # closed meanwhile (another staff member)
            await send_jury(cb.message, session, locale, callback_data.id)
            return
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await cb.message.answer(_("Cancelled: the jury round stays open."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jopen"))
async def on_jury_reopen(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                         session: AsyncSession, user: UserInfo, locale: str) -> None:
    try:
        await jury.reopen_round(session, callback_data.id, user)
        await cb.message.answer(_("The jury round is open again: jurors can score."))
        await send_jury(cb.message, session, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


async def group_names(session: AsyncSession, cid: int, locale: str) -> dict[int, str]:
    nominations, categories = await svc.get_options(session, cid)
    return {o.id: o.name(locale) for o in (*nominations, *categories)}


def group_head(names: dict[int, str], key: tuple[int | None, int | None]) -> str:
    head = " / ".join(html.escape(names[k]) for k in key if k in names)
    return f"<b>{head or '—'}</b>"


def group_order(key: tuple[int | None, int | None]) -> tuple[int, int]:
    return key[0] or 0, key[1] or 0


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jrank"))
async def on_ranking(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     locale: str) -> None:
    groups = await jury.rankings(session, callback_data.id)
    if not groups:
        await cb.message.answer(_("No complete scores yet."))
        return
    names = await group_names(session, callback_data.id, locale)
    lines = [_("Ranking by mean score (= marks a tie; ✓ the quorum is reached):")]
    for key, items in sorted(groups.items(), key=lambda g: group_order(g[0])):
        lines += ["", group_head(names, key)]
        for r in items[:50]:
            lines.append(_("{rank}{tie}. No. {n} — {mean} (scores: {count}){ok}").format(
                rank=r.rank, tie="=" if r.tied else "", n=r.submission_id,
                mean=f"{r.mean:.2f}", count=r.scores, ok=" ✓" if r.quorum else ""))
    challenge = await svc.get_challenge(session, callback_data.id)
    markup = None
    if challenge.status in ("closed", "judged"):
        footer = _("Mark winners with 🏆 in /challenges, or apply the ranking to places in "
                   "one step.")
        markup = admin_kb([(_("🏅 Apply to places"), "rkap", callback_data.id, "")])
    else:
        footer = _("Places can be given once the challenge is closed.")
    body = fit("\n".join(lines), TEXT_LIMIT - seen_length(footer) - 2)
    await cb.message.answer(f"{body}\n\n{footer}", reply_markup=markup)


# --- the ranking applied to places ----------------------------------------------------------

DIPLOMA_CHOICES = ("0", "3", "5", "10", "all")


def diplomas_value(raw: str) -> int | None:
    """'all' -> None (every other entry with the quorum), else the number (untrusted)."""
    if raw == "all":
        return None
    if (number := as_int(raw, max_digits=5)) is not None:
        return number
    raise DomainError("bad_number", max=jury.DIPLOMAS_MAX)


def place_name(place: str | None) -> str:
    return str(PLACE[place]) if place in PLACE else _("no place")


def numbers(items: list[jury.PlannedPlace], limit: int = 12) -> str:
    shown = ", ".join(_("No. {n}").format(n=p.submission_id) + f" ({p.mean:.2f})"
                      for p in items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")


def plan_text(plan: jury.PlacesPlan, names: dict[int, str]) -> str:
    if plan.diplomas is None:
        diplomas = _("diplomas to every other entry with the quorum")
    elif plan.diplomas:
        diplomas = _("diplomas to the next {n} ranks").format(n=plan.diplomas)
    else:
        diplomas = _("no diplomas")
    lines = [_("<b>The ranking applied to places</b> (1st, 2nd, 3rd place; {diplomas}). "
               "Only entries with the quorum; equal scores share a place.").format(
        diplomas=diplomas)]
    for key, items in sorted(plan.groups.items(), key=lambda g: group_order(g[0])):
        lines += ["", group_head(names, key)]
        for place in (*jury.PODIUM, "diploma"):
            chosen = [p for p in items if p.place == place]
            if chosen:
                lines.append(f"{place_name(place)}: {numbers(chosen)}")
        if not any(p.place for p in items):
            lines.append("—")
    lines += ["", _("New places: {n}.").format(n=len(plan.new))]
    if plan.conflicts:
        lines.append(_("Already placed differently (by hand or earlier): {n}").format(
            n=len(plan.conflicts)))
        lines += [_("• No. {n}: {current} → {place}").format(
            n=p.submission_id, current=place_name(p.current), place=place_name(p.place))
            for p in plan.conflicts[:15]]
        if len(plan.conflicts) > 15:
            lines.append(f"… (+{len(plan.conflicts) - 15})")
    if plan.grand_prix:
        lines.append(_("Grand Prix set by hand stays: {items}.").format(
            items=", ".join(_("No. {n}").format(n=p.submission_id) for p in plan.grand_prix)))
    if plan.without_quorum:
        lines.append(_("Entries without the quorum get no place: {n}.").format(
            n=plan.without_quorum))
    if plan.jury_open:
        lines.append(_("⚠️ The jury round is still open: scores may still change."))
    if plan.results_published:
        lines.append(_("⚠️ The results are already published: participants will not hear "
                       "about these changes."))
    if not plan.changes(overwrite=True):
        lines.append(_("Nothing to change: the places already match the ranking."))
    return fit("\n".join(lines))


def plan_kb(plan: jury.PlacesPlan, raw_diplomas: str) -> InlineKeyboardMarkup:
    cid, fp = plan.challenge_id, plan.fingerprint()
    rows = []
    if plan.conflicts:
        if plan.new:
            rows.append((_("✅ Apply, keep the places already set ({n})").format(
                n=len(plan.conflicts)), "rkok", cid, f"{raw_diplomas}.k.{fp}"))
        rows.append((_("⚠️ Apply and overwrite the places already set ({n})").format(
            n=len(plan.conflicts)), "rkok", cid, f"{raw_diplomas}.o.{fp}"))
    elif plan.new:
        rows.append((_("✅ Apply"), "rkok", cid, f"{raw_diplomas}.k.{fp}"))
    rows += [(_("« Back"), "rkap", cid, ""), (_("✖️ Cancel"), "rkno", cid, "")]
    return admin_kb(rows)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkap"))
async def on_apply_ranking(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           session: AsyncSession) -> None:
    try:
        challenge = await svc.get_challenge(session, callback_data.id)
        if challenge.status not in ("closed", "judged"):
            raise DomainError("not_closed")
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    choices = {"0": _("No diplomas"), "all": _("All the others")}
    await cb.message.answer(
        _("Apply the ranking to places: in each nomination and age category, among the "
          "entries with the quorum, rank 1 gets 1st place, 2 — 2nd, 3 — 3rd; equal scores "
          "share a place. A Grand Prix is only given by hand.\n\nHow many ranks after the "
          "top three get a diploma?"),
        reply_markup=admin_kb([(choices.get(d, d), "rkpv", callback_data.id, d)
                               for d in DIPLOMA_CHOICES], columns=3))


async def send_plan(message: Message, session: AsyncSession, locale: str, cid: int,
                    raw_diplomas: str) -> None:
    plan = await jury.plan_places(session, cid, diplomas_value(raw_diplomas))
    names = await group_names(session, cid, locale)
    await message.answer(plan_text(plan, names), reply_markup=plan_kb(plan, raw_diplomas))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkpv"))
async def on_places_preview(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                            session: AsyncSession, locale: str) -> None:
    try:
        await send_plan(cb.message, session, locale, callback_data.id, callback_data.arg)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkok"))
async def on_places_confirm(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                            session: AsyncSession, app: App, user: UserInfo,
                            locale: str) -> None:
    raw, mode, fp = [*callback_data.arg.split("."), "", ""][:3]
    if mode not in ("k", "o") or not fp:
        return
    try:
        _plan, n = await jury.apply_ranking(session, callback_data.id, diplomas_value(raw),
                                            mode == "o", fp, user)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        if exc.code == "ranking_changed":
            await send_plan(cb.message, session, locale, callback_data.id, raw)
        return
    await cb.message.answer(_("Places from the ranking are saved for {n} entries.").format(
        n=n))
    await send_manage(cb.message, session, app, locale, callback_data.id)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkno"))
async def on_places_cancel(cb: CallbackQuery) -> None:
    await cb.message.answer(_("Cancelled. No places were changed."))


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
        if await jury.in_review(session, cid):
            await message.answer(
                _("There is nothing for you to score right now. Some entries are still being "
                  "reviewed: press the button again later."),
                reply_markup=rows_kb([(_("Start judging"),
                                       ChallengeCD(action="jury", id=cid).pack())]))
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
    extra = " / ".join(html.escape(options[k]) for k in (sub.nomination_id, sub.category_id)
                       if k in options)
    criteria = challenge.jury_criteria
    name = html.escape(jury.criterion_name(criteria[criterion], locale))
    text = _("<b>Entry No. {n}</b> {extra}\nCriterion {k} of {total}: <b>{name}</b>. "
             "Your score:").format(n=sub.id, extra=extra, k=criterion + 1, total=len(criteria),
                                   name=name)
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
    try:
        await show_entry(cb.message, session, user, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))


@routes.callback_query(ChallengeCD.filter(F.action == "js"))
async def on_score(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                   user: UserInfo, app: App, locale: str) -> None:
    raw_criterion, _sep, raw_value = callback_data.arg.partition("_")
    criterion, value = as_int(raw_criterion, max_digits=3), as_int(raw_value, max_digits=3)
    if criterion is None or value is None:  # a forged or mangled button
        await cb.answer(_("This button is no longer active."), show_alert=True)
        return
    try:
        challenge, complete = await jury.score(session, callback_data.id, user.id,
                                               criterion, value, app.now())
        if complete:
            await cb.message.answer(_("Saved: entry No. {n} is scored.").format(
                n=callback_data.id))
            await show_entry(cb.message, session, user, locale, challenge.id)
        else:
            sub = await session.get(Submission, callback_data.id)
            await ask_criterion(cb.message, session, locale, challenge, sub, criterion + 1,
                                resend=False)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        if exc.code in ("not_offered", "quorum_reached"):
            await _show_waiting_entry(cb.message, session, user, locale, callback_data.id)


async def _show_waiting_entry(message: Message, session: AsyncSession, user: UserInfo,
                              locale: str, submission_id: int) -> None:
    """After a refused score: the entry that does wait for this juror, so they go on."""
    sub = await session.get(Submission, submission_id)
    try:
        await show_entry(message, session, user, locale, sub.challenge_id)
    except DomainError as exc:
        await message.answer(error_text(exc))
