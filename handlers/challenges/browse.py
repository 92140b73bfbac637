"""Challenges for participants: /challenges, a card, Join, the submit flow, /my."""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.callbacks import ChallengeCD
from bot.i18n import fmt_dt
from bot.middlewares import HEAVY_DB
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.guardian import guardian_token_of
from bot.services.numbers import as_int
from bot.services.text import TEXT_LIMIT, short_html, strip_controls, take_lines
from bot.services.users import UserInfo
from db.models.challenges import Challenge
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
from handlers.people.registration import guardian_link
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, error_text, more_text
from handlers.webinars.browse import my_webinars_text

routes = Routes(__name__)

KIND = {"challenge": __("Challenge"), "action": __("Action"), "contest": __("Contest")}
STATUS = {"draft": __("draft"), "open": __("open"), "closed": __("closed"),
          "judged": __("results published")}
SUB_STATUS = {"pending": __("waiting for review"), "approved": __("approved"),
              "rejected": __("not accepted"), "withdrawn": __("withdrawn")}
CONTENT = {"photo": __("photo"), "video": __("video"), "document": __("document"),
           "text": __("text"), "link": __("link"), "album": __("album")}
PLACE = {"grand_prix": __("Grand Prix"), "1": __("1st place"), "2": __("2nd place"),
         "3": __("3rd place"), "diploma": __("Diploma")}


def kinds_text(kinds: list[str]) -> str:
    return ", ".join(str(CONTENT[k]) for k in kinds if k in CONTENT)


def wrong_type_text(exc: DomainError) -> str:
    return _("This kind of content is not accepted here. Send: {kinds}.").format(
        kinds=kinds_text(exc.details.get("kinds", [])))  # type: ignore[arg-type]


def say(exc: DomainError) -> str:
    return wrong_type_text(exc) if exc.code == "wrong_type" else error_text(exc)


LIMITED = ("limited_join", "limited_account")


async def refuse(message: Message, session: AsyncSession, app: App, user: UserInfo,
                 exc: DomainError) -> None:
    """The refusal; a minor waiting for a guardian gets the link to forward right here."""
    token = await guardian_token_of(session, user.id) if exc.code in LIMITED else None
    if token is None:
        await message.answer(say(exc))
        return
    await message.answer(_("A parent or guardian has to confirm your account first: until then "
                           "you cannot join challenges or actions or send entries. Forward "
                           "them this link:\n{link}").format(link=await guardian_link(app, token)))


class SubmitSG(StatesGroup):
    nomination = State()
    category = State()
    content = State()
    comment = State()


# --- rendering ---------------------------------------------------------------------------

def days_text(days: int) -> str:
    return _("{days} d. left").format(days=days) if days else _("closes today")


def card_text(challenge: Challenge, nominations: list, categories: list, locale: str,
              app: App) -> str:
    lines = [f"<b>{KIND[challenge.kind]}: {html.escape(challenge.text('title', locale))}</b>",
             "", html.escape(challenge.text("description", locale)), ""]
    if nominations:
        lines.append(_("Nominations: {items}").format(
            items="; ".join(html.escape(o.name(locale)) for o in nominations)))
    if categories:
        lines.append(_("Age categories: {items}").format(
            items="; ".join(html.escape(o.name(locale)) for o in categories)))
    lines.append(_("Deadline: {deadline} ({left})").format(
        deadline=fmt_dt(challenge.deadline_at, locale, app.settings.tz),
        left=days_text(svc.days_left(challenge, app.now()))))
    if challenge.content_kinds:
        lines.append(_("Accepted: {kinds}; up to {max} entries per person.").format(
            kinds=kinds_text(challenge.content_kinds), max=challenge.max_submissions))
    return "\n".join(lines)


async def send_list(message: Message, session: AsyncSession, user: UserInfo, app: App,
                    locale: str) -> None:
    items = await svc.list_open(session, user, app.now())
    if not items:
        await message.answer(_("There are no open challenges for you right now. We will let "
                               "you know when a new one starts."))
        return
    now = app.now()
    buttons = [(c.id, f"{c.text('title', locale)[:40]} · {days_text(svc.days_left(c, now))}")
               for c in items[:50]]
    await message.answer(_("Open challenges, actions and contests:"),
                         reply_markup=list_kb(buttons))


@routes.message(Command("challenges"))
async def cmd_challenges(message: Message, session: AsyncSession, user: UserInfo, app: App,
                         locale: str, role: str) -> None:
    if role == "staff":
        from handlers.challenges.wizard import send_staff_list

        await send_staff_list(message, session, app, locale)
        return
    await send_list(message, session, user, app, locale)


@routes.message(Command("my"))
async def cmd_my(message: Message, session: AsyncSession, user: UserInfo, app: App,
                 locale: str) -> None:
    await send_my(message, session, user, app, locale)
    await send_my_certificates(message, session, user, app.i18n, locale, app.settings)


@routes.callback_query(ChallengeCD.filter(F.action == "list"))
async def on_list(cb: CallbackQuery, session: AsyncSession, user: UserInfo, app: App,
                  locale: str) -> None:
    await send_list(cb.message, session, user, app, locale)


async def send_card(message: Message, session: AsyncSession, user: UserInfo, app: App,
                    locale: str, challenge_id: int, leader: bool = False) -> None:
    challenge = await svc.get_challenge(session, challenge_id)
    if challenge.status == "draft" or not svc.in_audience(challenge, user):
        raise DomainError("not_found")
    nominations, categories = await svc.get_options(session, challenge_id)
    text = card_text(challenge, nominations, categories, locale, app)
    open_now = svc.is_open(challenge, app.now())
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
                  user: UserInfo, app: App, locale: str, role: str) -> None:
    try:
        await send_card(cb.message, session, user, app, locale, callback_data.id,
                        leader=role in ("coordinator", "staff"))
    except DomainError as exc:
        await cb.message.answer(say(exc))


@routes.callback_query(ChallengeCD.filter(F.action == "join"))
async def on_join(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                  user: UserInfo, app: App, locale: str) -> None:
    try:
        await svc.join(session, callback_data.id, user, app.now())
        challenge = await svc.get_challenge(session, callback_data.id)
    except DomainError as exc:
        await refuse(cb.message, session, app, user, exc)
        return
    title = html.escape(challenge.text("title", locale))
    if not challenge.content_kinds:
        await cb.message.answer(_("You have joined “{title}”. Thank you for taking part!")
                                .format(title=title))
        return
    await cb.message.answer(
        _("You have joined “{title}”. Send your entry before {deadline}.").format(
            title=title, deadline=fmt_dt(challenge.deadline_at, locale, app.settings.tz)),
        reply_markup=card_kb(challenge.id, False, True))


# --- the submit flow --------------------------------------------------------------------------

@routes.callback_query(ChallengeCD.filter(F.action == "submit"))
async def on_submit(cb: CallbackQuery, callback_data: ChallengeCD, session: AsyncSession,
                    user: UserInfo, app: App, locale: str, state: FSMContext) -> None:
    try:
        challenge = await svc.challenge_view(session, callback_data.id)
        await svc.check_can_submit(session, challenge, user, app.now())
    except DomainError as exc:
        await refuse(cb.message, session, app, user, exc)
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
        await cb.answer(_("This button is no longer active."), show_alert=True)
        return
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
async def on_content(message: Message, session: AsyncSession, state: FSMContext, app: App,
                     user: UserInfo) -> None:
    await take_part(message, session, state, app, user)


async def take_part(message: Message, session: AsyncSession, state: FSMContext, app: App,
                    user: UserInfo) -> None:
    """The entry's content. Album items arrive as separate messages, maybe at once."""
    part = part_of(message)
    async with app.locks(user.id):
        data = await state.get_data()
        try:
            svc.check_part(data.get("kinds") or [], part)
        except DomainError as exc:
            await message.answer(say(exc))
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
async def on_album_rest(message: Message, session: AsyncSession, state: FSMContext, app: App,
                        user: UserInfo) -> None:
    await take_part(message, session, state, app, user)


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
    await message.answer(_("Your entry: {count} item(s).\nComment: {comment}\n\nSend it?").format(
        count=len(data.get("parts") or []), comment=html.escape(text)),
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
                     state: FSMContext, app: App, user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    if data.get("cid") != callback_data.id:
        await cb.answer(_("This button is no longer active."), show_alert=True)
        return
    try:
        challenge = await svc.challenge_view(session, data["cid"])
        sub = await svc.create_submission(session, data["cid"], user, data.get("parts") or [],
                                          data.get("nom"), data.get("cat"), data.get("comment"),
                                          app.now())
    except DomainError as exc:
        await state.clear()
        await cb.message.answer(say(exc))
        return
    await state.clear()
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
    await cb.answer(_("This button is no longer active."), show_alert=True)


# --- coordinators: who has not sent yet ----------------------------------------------------

@routes.callback_query(ChallengeCD.filter(F.action == "gap"), flags=HEAVY_DB)
async def on_gap(cb: CallbackQuery, callback_data: ChallengeCD, read_session: AsyncSession,
                 user: UserInfo, app: App, locale: str, role: str) -> None:
    if role not in ("coordinator", "staff"):
        await cb.answer(_("Sorry, this button is not available to you."), show_alert=True)
        return
    try:
        people = await svc.not_submitted(read_session, callback_data.id, user)
        schools = await svc.schools_without_entries(read_session, callback_data.id, user)
    except DomainError as exc:
        await cb.message.answer(say(exc))
        return
    names = [f"• {short_html(p.full_name, NAME_SHOWN)}, {short_html(p.org_name, ORG_SHOWN)}"
             for p in people]
    orgs = []
    for district_id, org in schools:
        district = app.places.district(district_id)
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
                   read_session: AsyncSession, user: UserInfo, app: App, role: str) -> None:
    """🔔 reminds who joined but has not sent; 📣 invites the schools with no entry."""
    if role not in ("coordinator", "staff"):
        await cb.answer(_("Sorry, this button is not available to you."), show_alert=True)
        return
    send = svc.nudge if callback_data.action == "nudge" else svc.nudge_schools
    try:
        queued = await send(session, app, callback_data.id, user, app.now(), read_session)
    except DomainError as exc:
        await cb.message.answer(say(exc))
        return
    if queued:
        await cb.message.answer(_("Reminders are on their way to {n} people.").format(n=queued))
    else:
        await cb.message.answer(_("They were already reminded today."))


# --- /my and withdrawing ------------------------------------------------------------------

async def send_my(message: Message, session: AsyncSession, user: UserInfo, app: App,
                  locale: str) -> None:
    rows = await svc.my_challenges(session, user.id)
    if not rows:
        webinars = await my_webinars_text(session, app, user, locale)
        await message.answer(_("You have not joined any challenge yet. See /challenges.")
                             + ("\n\n" + webinars if webinars else ""))
        return
    now = app.now()
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
                          user: UserInfo, app: App) -> None:
    try:
        await svc.withdraw(session, callback_data.id, user, app.now())
    except DomainError as exc:
        await cb.message.answer(say(exc))
        return
    await cb.message.answer(_("Entry No. {n} is withdrawn.").format(n=callback_data.id))

