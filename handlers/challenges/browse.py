"""Challenges for participants: /challenges, a card, Join, the submit flow, /my."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App, KeyedLocks
from bot.callbacks import ChallengeCD
from bot.config import Settings
from bot.i18n import fmt_dt
from bot.middlewares import HEAVY_DB
from bot.notices.challenges import ChallengeNotices
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.guardian import guardian_token_of
from bot.services.numbers import as_int
from bot.services.places import PlaceDirectory
from bot.services.text import TEXT_LIMIT, short_html, strip_controls, take_lines
from bot.services.users import UserInfo
from handlers.certificates.mine import send_my_certificates
from handlers.challenges.keyboards import (
    card_kb,
    confirm_submit_kb,
    list_kb,
    nudge_kb,
    options_kb,
    withdraw_confirm_kb,
    withdraw_kb,
)
from handlers.challenges.manage import send_staff_list
from handlers.challenges.texts import (
    CONTENT,
    PLACE,
    STATUS,
    SUB_STATUS,
    card_text,
    days_text,
    kinds_text,
    say,
)
from handlers.people.guardian import guardian_link
from handlers.shared.errors import StaleButton
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, error_text, more_text
from handlers.webinars.browse import my_webinars_text

T = TypeVar("T")
routes = Routes(__name__)
LIMITED = ("limited_join", "limited_account")


async def refuse(message: Message, session: AsyncSession, bot: Bot, user: UserInfo,
                 exc: DomainError) -> None:
    """The refusal; a minor waiting for a guardian gets the link to forward right here."""
    token = await guardian_token_of(session, user.id) if exc.code in LIMITED else None
    if token is None:
        await message.answer(say(exc))
        return
    await message.answer(_("A parent or guardian has to confirm your account first: until then "
                           "you cannot join challenges or actions or send entries. Forward "
                           "them this link:\n{link}").format(
        link=await guardian_link(bot, token)))


async def attempt(message: Message, session: AsyncSession, bot: Bot, user: UserInfo,
                  step: Callable[[], Awaitable[T]]) -> T | None:
    """The step's result, or None once the person has been told why not. The refusals here
    are the ones the shared error handler cannot word: the kinds of content accepted (this
    feature's labels) and a guardian's link to forward (a query and the bot's name)."""
    try:
        return await step()
    except DomainError as exc:
        await refuse(message, session, bot, user, exc)
        return None


class SubmitSG(StatesGroup):
    nomination = State()
    category = State()
    content = State()
    comment = State()


# --- the list and a card ------------------------------------------------------------------

async def send_list(message: Message, session: AsyncSession, user: UserInfo,
                    clock: Callable[[], datetime], locale: str) -> None:
    items = await svc.list_open(session, user, clock())
    if not items:
        await message.answer(_("There are no open challenges for you right now. We will let "
                               "you know when a new one starts."))
        return
    now = clock()
    buttons = [(c.id, f"{c.text('title', locale)[:40]} · {days_text(svc.days_left(c, now))}")
               for c in items[:50]]
    await message.answer(_("Open challenges, actions and contests:"),
                         reply_markup=list_kb(buttons))


@routes.message(Command("challenges"))
async def cmd_challenges(message: Message, session: AsyncSession, user: UserInfo,
                         clock: Callable[[], datetime], locale: str, role: str) -> None:
    if role == "staff":
        await send_staff_list(message, session, locale)
        return
    await send_list(message, session, user, clock, locale)


@routes.message(Command("my"))
async def cmd_my(message: Message, session: AsyncSession, user: UserInfo, app: App,
                 locale: str) -> None:
    if user.limited:  # not "active" yet: say so first (issue 17)
        await message.answer(_("Your account: {status}. /profile shows the link to forward to "
                               "them.").format(status=labels.WAITING_FOR_GUARDIAN))
    await send_my(message, session, user, app, locale)
    await send_my_certificates(message, session, user, app.i18n, locale, app.settings)


@routes.callback_query(ChallengeCD.filter(F.action == "list"))
async def on_list(cb: CallbackQuery, session: AsyncSession, user: UserInfo,
                  clock: Callable[[], datetime], locale: str) -> None:
    await send_list(cb.message, session, user, clock, locale)


async def send_card(message: Message, session: AsyncSession, user: UserInfo,
                    settings: Settings, clock: Callable[[], datetime], locale: str,
                    challenge_id: int, leader: bool = False) -> None:
    challenge = await svc.get_challenge(session, challenge_id)
    if challenge.status == "draft" or not svc.in_audience(challenge, user):
        raise DomainError("not_found")
    nominations, categories = await svc.get_options(session, challenge_id)
    now = clock()
    text = card_text(challenge, nominations, categories, locale, settings.tz, now)
    open_now = svc.is_open(challenge, now)
    joined = await svc.is_participant(session, challenge_id, user.id)
    markup = card_kb(challenge_id, open_now and not joined,
                     open_now and bool(challenge.content_kinds),
                     leader and open_now and bool(challenge.content_kinds))
    if not open_now:
        text += "\n\n" + _("Entries are no longer accepted.")
    if challenge.cover_file_id:  # a caption over 1,024 characters follows as a text
        await message.answer_photo(challenge.cover_file_id, caption=text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


@routes.callback_query(ChallengeCD.filter(F.action == "card"))
async def on_card(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                  user: UserInfo, settings: Settings, clock: Callable[[], datetime],
                  locale: str, role: str) -> None:
    await send_card(cb.message, session, user, settings, clock, locale, callback_data.id,
                    leader=role in ("coordinator", "staff"))


@routes.callback_query(ChallengeCD.filter(F.action == "join"))
async def on_join(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                  user: UserInfo, bot: Bot, settings: Settings, clock: Callable[[], datetime],
                  locale: str) -> None:
    async def join():
        await svc.join(session, callback_data.id, user, clock())
        return await svc.get_challenge(session, callback_data.id)

    challenge = await attempt(cb.message, session, bot, user, join)
    if challenge is None:
        return
    title = html.escape(challenge.text("title", locale))
    if not challenge.content_kinds:
        await cb.message.answer(_("You have joined “{title}”. Thank you for taking part!")
                                .format(title=title))
        return
    await cb.message.answer(
        _("You have joined “{title}”. Send your entry before {deadline}.").format(
            title=title, deadline=fmt_dt(challenge.deadline_at, locale, settings.tz)),
        reply_markup=card_kb(challenge.id, False, True))


# --- the submit flow --------------------------------------------------------------------------

@routes.callback_query(ChallengeCD.filter(F.action == "submit"))
async def on_submit(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                    user: UserInfo, bot: Bot, clock: Callable[[], datetime], locale: str,
                    state: FSMContext) -> None:
    async def may_submit():
        challenge = await svc.challenge_view(session, callback_data.id)
        await svc.check_can_submit(session, challenge, user, clock())
        return challenge

    challenge = await attempt(cb.message, session, bot, user, may_submit)
    if challenge is None:
        return
    await state.set_data({"cid": challenge.id, "kinds": challenge.content_kinds, "parts": [],
                          "contest": challenge.kind == "contest"})
    await ask_next(cb.message, session, state, locale)


async def ask_next(message: Message, session: AsyncSession, state: FSMContext,
                   locale: str) -> None:
    data = await state.get_data()
    cid = data["cid"]
    if data.get("contest"):
        nominations, categories = await svc.get_options(session, cid)
        if nominations and not data.get("nom"):
            await state.set_state(SubmitSG.nomination)
            await message.answer(_("Choose the nomination:"), reply_markup=options_kb(
                cid, "nom", [(o.id, o.name(locale)) for o in nominations]))
            return
        if categories and not data.get("cat"):
            await state.set_state(SubmitSG.category)
            await message.answer(_("Choose your age category:"), reply_markup=options_kb(
                cid, "cat", [(o.id, o.name(locale)) for o in categories]))
            return
    await state.set_state(SubmitSG.content)
    await message.answer(_("Send your entry ({kinds}). Several photos sent as one album count "
                           "as one entry. /cancel to stop.").format(
                               kinds=kinds_text(data.get("kinds") or [])))


@routes.callback_query(SubmitSG.nomination, ChallengeCD.filter(F.action == "nom"))
@routes.callback_query(SubmitSG.category, ChallengeCD.filter(F.action == "cat"))
async def on_option(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                    state: FSMContext, locale: str) -> None:
    data = await state.get_data()
    option_id = as_int(callback_data.arg)
    if data.get("cid") != callback_data.id or option_id is None:
        raise StaleButton()
    await state.update_data({callback_data.action: option_id})
    await ask_next(cb.message, session, state, locale)


def part_of(message: Message) -> svc.ContentPart:
    """A Telegram message reduced to what we store; nothing is downloaded."""
    mgid = message.media_group_id
    caption = message.caption
    if message.photo:
        p = message.photo[-1]
        return svc.ContentPart("photo", p.file_id, p.file_unique_id, p.file_size, caption,
                               media_group_id=mgid)
    if message.video:
        v = message.video
        return svc.ContentPart("video", v.file_id, v.file_unique_id, v.file_size, caption,
                               media_group_id=mgid)
    if message.document:
        d = message.document
        return svc.ContentPart("document", d.file_id, d.file_unique_id, d.file_size, caption,
                               media_group_id=mgid)
    if message.text and not message.text.startswith("/"):
        links = any(e.type in ("url", "text_link") for e in message.entities or [])
        return svc.ContentPart("link" if links else "text", text=message.text)
    return svc.ContentPart("other")


@routes.message(SubmitSG.content)
async def on_content(message: Message, session: AsyncSession, state: FSMContext, bot: Bot,
                     user: UserInfo, locks: KeyedLocks) -> None:
    await take_part(message, session, state, bot, user, locks)


async def take_part(message: Message, session: AsyncSession, state: FSMContext, bot: Bot,
                    user: UserInfo, locks: KeyedLocks) -> None:
    """The entry's content. Album items arrive as separate messages, maybe at once."""
    part = part_of(message)
    async with locks(user.id):
        data = await state.get_data()

        async def check() -> bool:
            svc.check_part(data.get("kinds") or [], part)
            return True

        if not await attempt(message, session, bot, user, check):
            return
        parts = data.get("parts") or []
        same_album = bool(part.media_group_id) and part.media_group_id == data.get("mgid")
        if parts and not same_album:
            await message.answer(_("Your entry is already here. Type a comment, or press "
                                   "a button below."))
            return
        if len(parts) >= svc.MAX_ALBUM:
            return
        parts.append(part.to_dict())
        await state.update_data(parts=parts, mgid=part.media_group_id)
        await state.set_state(SubmitSG.comment)
        if same_album:
            return  # one prompt per album
    await message.answer(_("Received. Type a comment for the reviewers if you like, or send "
                           "it as it is."), reply_markup=confirm_submit_kb(data["cid"], False))


@routes.message(SubmitSG.comment, F.media_group_id)
async def on_album_rest(message: Message, session: AsyncSession, state: FSMContext, bot: Bot,
                        user: UserInfo, locks: KeyedLocks) -> None:
    await take_part(message, session, state, bot, user, locks)


@routes.message(SubmitSG.comment, F.text)
async def on_comment(message: Message, state: FSMContext, locale: str) -> None:
    text = strip_controls(message.text).strip()
    if text.startswith("/"):
        await message.answer(_("Type a comment, or press a button above. /cancel to stop."))
        return
    if len(text) > svc.COMMENT_MAX:
        await message.answer(error_text(DomainError("comment_too_long", max=svc.COMMENT_MAX)))
        return
    data = await state.update_data(comment=text)
    count = len(data.get("parts") or [])
    await message.answer(ngettext("Your entry: {count} item.\nComment: {comment}\n\nSend it?",
                                  "Your entry: {count} items.\nComment: {comment}\n\nSend it?",
                                  count).format(count=count, comment=html.escape(text)),
        reply_markup=confirm_submit_kb(data["cid"], True))


@routes.message(SubmitSG.comment)
async def on_comment_wrong(message: Message) -> None:
    await message.answer(_("Your entry is already here. Type a comment, or press a button "
                           "below."))


@routes.message(SubmitSG.nomination)
@routes.message(SubmitSG.category)
async def on_need_button(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above. /cancel to stop."))


@routes.callback_query(SubmitSG.comment, ChallengeCD.filter(F.action == "ok"))
async def on_confirm(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                     state: FSMContext, bot: Bot, clock: Callable[[], datetime], user: UserInfo,
                     locale: str) -> None:
    data = await state.get_data()
    if data.get("cid") != callback_data.id:
        raise StaleButton()

    async def submit():
        challenge = await svc.challenge_view(session, data["cid"])
        sub = await svc.create_submission(session, data["cid"], user, data.get("parts") or [],
                                          data.get("nom"), data.get("cat"), data.get("comment"),
                                          clock())
        return challenge, sub

    sent = await attempt(cb.message, session, bot, user, submit)
    await state.clear()  # sent or refused, the flow is over
    if sent is None:
        return
    challenge, sub = sent
    await cb.message.answer(_("Your entry No. {n} to “{title}” is received. It will be reviewed, "
                              "and you will get a message. /my shows your entries.").format(
        n=sub.id, title=html.escape(challenge.text("title", locale))))


# Only inside the flow: once the entry is sent, its Cancel is stale (see on_stale_step).
@routes.callback_query(StateFilter(SubmitSG), ChallengeCD.filter(F.action == "no"))
async def on_cancel_submit(cb: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await cb.message.answer(_("Cancelled. Nothing was sent."))


@routes.callback_query(ChallengeCD.filter(F.action.in_({"ok", "nom", "cat", "no"})))
async def on_stale_step(cb: CallbackQuery) -> None:
    raise StaleButton()


# --- coordinators: who has not sent yet ----------------------------------------------------

@routes.callback_query(ChallengeCD.filter(F.action == "gap"), flags=HEAVY_DB)
async def on_gap(cb: CallbackQuery, callback_data: ChallengeCD, read_session: AsyncSession,
                 user: UserInfo, places: PlaceDirectory, locale: str, role: str) -> None:
    if role not in ("coordinator", "staff"):
        await cb.answer(_("Sorry, this button is not available to you."), show_alert=True)
        return
    people = await svc.not_submitted(read_session, callback_data.id, user)
    schools = await svc.schools_without_entries(read_session, callback_data.id, user)
    names = [f"• {short_html(p.full_name, NAME_SHOWN)}, {short_html(p.org_name, ORG_SHOWN)}"
             for p in people]
    orgs = []
    for district_id, org in schools:
        district = places.district(district_id)
        orgs.append(f"• {short_html(org, ORG_SHOWN)}"
                    + (f" ({html.escape(district.name(locale))})" if district else ""))
    half = TEXT_LIMIT // 2 - 100  # each list gets half a message; the rest is "…and N more"
    lines = [_("Joined but have not sent an entry: {n}").format(n=len(people)),
             *take_lines(names, half, more_text), "",
             _("Schools of your area with no entries: {n}").format(n=len(schools)),
             *take_lines(orgs, half, more_text)]
    await cb.message.answer("\n".join(lines),
                            reply_markup=nudge_kb(callback_data.id, bool(people), bool(schools)))


@routes.callback_query(ChallengeCD.filter(F.action.in_({"nudge", "nudges"})), flags=HEAVY_DB)
async def on_nudge(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                   read_session: AsyncSession, user: UserInfo,
                   challenge_notices: ChallengeNotices, clock: Callable[[], datetime],
                   role: str) -> None:
    """🔔 reminds who joined but has not sent; 📣 invites the schools with no entry."""
    if role not in ("coordinator", "staff"):
        await cb.answer(_("Sorry, this button is not available to you."), show_alert=True)
        return
    send = svc.nudge if callback_data.action == "nudge" else svc.nudge_schools
    queued = await send(session, challenge_notices, callback_data.id, user, clock(),
                        read_session)
    if queued:
        await cb.message.answer(ngettext("A reminder is on its way to {n} person.",
                                         "Reminders are on their way to {n} people.",
                                         queued).format(n=queued))
    else:
        await cb.message.answer(_("They were already reminded today."))


# --- /my and withdrawing ------------------------------------------------------------------

def my_lines(rows: list, now: datetime, locale: str) -> tuple[list[str], list[int]]:
    """/my's lines, and the entries that may still be withdrawn."""
    lines, withdrawable = [], []
    for challenge, subs in rows[:30]:
        open_now = svc.is_open(challenge, now)
        state = days_text(svc.days_left(challenge, now)) if open_now else STATUS[challenge.status]
        lines.append(f"<b>{html.escape(challenge.text('title', locale))}</b> — {state}")
        for s in subs:
            extra = f" · {PLACE[s.place]}" if s.place in PLACE else ""
            lines.append(_("  No. {n} · {kind} · {status}").format(
                n=s.id, kind=CONTENT.get(s.content_kind, s.content_kind),
                status=SUB_STATUS[s.status]) + extra)
            if open_now and s.status in ("pending", "approved"):
                withdrawable.append(s.id)
        if not subs and challenge.content_kinds:
            lines.append("  " + _("no entries yet"))
    return lines, withdrawable


async def send_my(message: Message, session: AsyncSession, user: UserInfo, app: App,
                  locale: str) -> None:
    rows = await svc.my_challenges(session, user.id)
    if not rows:
        webinars = await my_webinars_text(session, app, user, locale)
        await message.answer(_("You have not joined any challenge yet. See /challenges.")
                             + ("\n\n" + webinars if webinars else ""))
        return
    lines, withdrawable = my_lines(rows, app.now(), locale)
    webinars = await my_webinars_text(session, app, user, locale)
    text = _("Your challenges:") + "\n\n" + "\n".join(lines)
    await message.answer(text + ("\n\n" + webinars if webinars else ""),
                         reply_markup=withdraw_kb(withdrawable[:20]))


@routes.callback_query(ChallengeCD.filter(F.action == "my"))
async def on_my(cb: CallbackQuery, session: AsyncSession, user: UserInfo, app: App,
                locale: str) -> None:
    await send_my(cb.message, session, user, app, locale)


@routes.callback_query(ChallengeCD.filter(F.action == "wd"))
async def on_withdraw(cb: CallbackQuery, callback_data: ChallengeCD) -> None:
    await cb.message.answer(_("Withdraw entry No. {n}? It will no longer be reviewed.").format(
        n=callback_data.id), reply_markup=withdraw_confirm_kb(callback_data.id))


@routes.callback_query(ChallengeCD.filter(F.action == "wdok"))
async def on_withdraw_yes(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                          user: UserInfo, clock: Callable[[], datetime]) -> None:
    await svc.withdraw(session, callback_data.id, user, clock())
    await cb.message.answer(_("Entry No. {n} is withdrawn.").format(n=callback_data.id))
