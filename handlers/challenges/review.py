"""/review: coordinators (their scope) and staff (everything) approve or reject entries."""

from __future__ import annotations

import html
import logging

from aiogram import F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.callbacks import ReviewCD
from bot.i18n import fmt_dt
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.users import UserInfo
from db.models import User
from db.models.challenges import Submission
from handlers.challenges.browse import CONTENT
from handlers.challenges.keyboards import reasons_kb, review_kb
from handlers.shared.texts import error_text

routes = Routes(__name__)
logger = logging.getLogger(__name__)


REASONS = {
    "off_topic": __("Off topic"),
    "quality": __("Poor quality"),
    "incomplete": __("Incomplete"),
    "duplicate": __("Duplicate"),
    "rules": __("Breaks the rules"),
}


TIER = {"district": __("district pre-screening"), "regional": __("regional shortlist")}


class ReviewSG(StatesGroup):
    reason = State()  # data: sid


INPUT_MEDIA = {"photo": InputMediaPhoto, "video": InputMediaVideo,
               "document": InputMediaDocument}


async def resend_media(message: Message, sub: Submission) -> bool:
    """The entry as the participant sent it (by file_id: nothing is downloaded); False when
    Telegram refused it. The card and its buttons come after it either way: one entry that
    cannot be shown (a file gone, a caption too long for Telegram) must not block the queue
    behind it for everyone in its area."""
    try:
        await _resend(message, sub)
    except TelegramAPIError as exc:
        logger.warning("entry %s: its content could not be shown (%s)", sub.id,
                       type(exc).__name__)
        return False
    return True


def media_note(shown: bool) -> list[str]:
    if shown:
        return []
    return [_("⚠️ Telegram did not show this entry's files. You can still decide on it "
              "from its description.")]


async def _resend(message: Message, sub: Submission) -> None:
    media = sub.media or []
    if len(media) > 1:
        group = [INPUT_MEDIA[m["type"]](media=m["file_id"], caption=m.get("caption"),
                                        parse_mode=None)
                 for m in media if m["type"] in INPUT_MEDIA]
        if all(m["type"] in ("photo", "video") for m in media) or \
                all(m["type"] == "document" for m in media):
            await message.answer_media_group(group[:10])
            return
    for m in media:
        sender = {"photo": message.answer_photo, "video": message.answer_video,
                  "document": message.answer_document}.get(m["type"])
        if sender is not None:
            await sender(m["file_id"], caption=m.get("caption"), parse_mode=None)
    if sub.text:
        await message.answer(sub.text, parse_mode=None)


async def show_next(message: Message, session: AsyncSession, reviewer: UserInfo, app: App,
                    locale: str, after_id: int = 0) -> None:
    sub = await svc.next_pending(session, reviewer, after_id)
    if sub is None:
        await message.answer(_("No entries are waiting for review in your area. Well done!"))
        return
    if after_id and sub.id == after_id:
        await message.answer(_("This is the only entry waiting for review."))
    challenge = await svc.get_challenge(session, sub.challenge_id)
    participant = await session.get(User, sub.user_id)
    options = {o.id: o.name(locale) for group in await svc.get_options(session, challenge.id)
               for o in group}
    region = app.places.region(sub.region_id)
    district = app.places.district(sub.district_id)
    shown = await resend_media(message, sub)
    lines = [
        _("<b>Entry No. {n}</b> · {title}").format(
            n=sub.id, title=html.escape(challenge.text("title", locale))),
        _("Participant: {name}, {org}").format(
            name=html.escape(participant.full_name or "—") if participant else "—",
            org=html.escape(participant.org_name or "—") if participant else "—"),
        _("Place: {region}, {district}").format(
            region=html.escape(region.name(locale)) if region else "—",
            district=html.escape(district.name(locale)) if district else "—"),
        _("Content: {kind}; sent {at}").format(
            kind=CONTENT.get(sub.content_kind, sub.content_kind),
            at=fmt_dt(sub.submitted_at, locale, app.settings.tz)),
    ]
    if sub.nomination_id or sub.category_id:
        lines.append(_("Nomination: {nom}; age category: {cat}").format(
            nom=html.escape(options.get(sub.nomination_id, "—")),
            cat=html.escape(options.get(sub.category_id, "—"))))
    if sub.comment:
        lines.append(_("Comment: {comment}").format(comment=html.escape(sub.comment)))
    if sub.stage in TIER:
        lines.append(_("Review tier: {tier}").format(tier=TIER[sub.stage]))
    lines += media_note(shown)
    await message.answer("\n".join(lines), reply_markup=review_kb(sub.id))


@routes.message(Command("review"))
async def cmd_review(message: Message, session: AsyncSession, user: UserInfo, app: App,
                     locale: str, state: FSMContext) -> None:
    await state.clear()
    count = await svc.pending_count(session, user)
    if count:
        await message.answer(_("Entries waiting for review: {n}").format(n=count))
    await show_next(message, session, user, app, locale)


@routes.callback_query(ReviewCD.filter(F.action == "next"))
async def on_next(cb: CallbackQuery, callback_data: ReviewCD, session: AsyncSession,
                  user: UserInfo, app: App, locale: str) -> None:
    await show_next(cb.message, session, user, app, locale, after_id=callback_data.id)


async def decide(message: Message, session: AsyncSession, user: UserInfo, app: App,
                 locale: str, sid: int, approve: bool, reason: str | None) -> None:
    try:
        sub = await svc.decide(session, app.challenge_notices, sid, user, approve, reason,
                               app.now())
    except DomainError as exc:
        await message.answer(error_text(exc))
    else:
        if sub.status == "pending":
            text = _("Entry No. {n} goes on to the next tier: {tier}.").format(
                n=sid, tier=TIER[sub.stage])
        elif approve:
            text = _("Entry No. {n} is approved.").format(n=sid)
        else:
            text = _("Entry No. {n} is rejected.").format(n=sid)
        await message.answer(text)
    await show_next(message, session, user, app, locale, after_id=sid)


@routes.callback_query(ReviewCD.filter(F.action == "ok"))
async def on_approve(cb: CallbackQuery, callback_data: ReviewCD, session: AsyncSession,
                     user: UserInfo, app: App, locale: str) -> None:
    await decide(cb.message, session, user, app, locale, callback_data.id, True, None)


@routes.callback_query(ReviewCD.filter(F.action == "rej"))
async def on_reject(cb: CallbackQuery, callback_data: ReviewCD) -> None:
    await cb.message.answer(_("Why is entry No. {n} rejected?").format(n=callback_data.id),
                            reply_markup=reasons_kb(callback_data.id,
                                                    {k: str(v) for k, v in REASONS.items()}))


@routes.callback_query(ReviewCD.filter(F.action == "why"))
async def on_reason(cb: CallbackQuery, callback_data: ReviewCD, session: AsyncSession,
                    user: UserInfo, app: App, locale: str) -> None:
    if callback_data.arg not in REASONS:
        return
    await decide(cb.message, session, user, app, locale, callback_data.id, False,
                 callback_data.arg)


@routes.callback_query(ReviewCD.filter(F.action == "type"))
async def on_type_reason(cb: CallbackQuery, callback_data: ReviewCD, state: FSMContext) -> None:
    await state.set_state(ReviewSG.reason)
    await state.set_data({"sid": callback_data.id})
    await cb.message.answer(_("Type the reason; the participant will see it:"))


@routes.callback_query(ReviewCD.filter(F.action == "back"))
async def on_back(cb: CallbackQuery, callback_data: ReviewCD) -> None:
    await cb.message.answer(_("Entry No. {n}:").format(n=callback_data.id),
                            reply_markup=review_kb(callback_data.id))


@routes.message(ReviewSG.reason, F.text)
async def on_reason_text(message: Message, state: FSMContext, session: AsyncSession,
                         user: UserInfo, app: App, locale: str) -> None:
    text = message.text.strip()
    if text.startswith("/") or not 2 <= len(text) <= 500:
        await message.answer(_("Type the reason (2–500 characters), or /cancel."))
        return
    sid = (await state.get_data())["sid"]
    await state.clear()
    await decide(message, session, user, app, locale, sid, False, text)


@routes.message(ReviewSG.reason)
async def on_reason_wrong(message: Message) -> None:
    await message.answer(_("Type the reason (2–500 characters), or /cancel."))
