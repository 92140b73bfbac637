"""/review: coordinators (their scope) and staff (everything) approve or reject entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ReviewCD
from bot.config import Settings
from bot.notices.challenges import ChallengeNotices
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from db.models import User
from handlers.challenges.keyboards import reasons_kb, review_kb
from handlers.challenges.media import media_note, resend_media
from handlers.challenges.texts import TIER, entry_text
from handlers.shared.texts import error_text

routes = Routes(__name__)


REASONS = {
    "off_topic": __("Off topic"),
    "quality": __("Poor quality"),
    "incomplete": __("Incomplete"),
    "duplicate": __("Duplicate"),
    "rules": __("Breaks the rules"),
}


class ReviewSG(StatesGroup):
    reason = State()  # data: sid


async def show_next(message: Message, session: AsyncSession, reviewer: UserInfo,
                    places: PlaceDirectory, settings: Settings, locale: str,
                    after_id: int = 0) -> None:
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
    shown = await resend_media(message, sub)
    lines = entry_text(sub, challenge, participant, options, places, settings.tz, locale)
    lines += media_note(shown)
    await message.answer("\n".join(lines), reply_markup=review_kb(sub.id))


@routes.message(Command("review"))
async def cmd_review(message: Message, session: AsyncSession, user: UserInfo,
                     places: PlaceDirectory, settings: Settings, locale: str,
                     state: FSMContext) -> None:
    await state.clear()
    count = await svc.pending_count(session, user)
    if count:
        await message.answer(_("Entries waiting for review: {n}").format(n=count))
    await show_next(message, session, user, places, settings, locale)


@routes.callback_query(ReviewCD.filter(F.action == "next"))
async def on_next(cb: CallbackQuery, callback_data: ReviewCD, session: AsyncSession,
                  user: UserInfo, places: PlaceDirectory, settings: Settings,
                  locale: str) -> None:
    await show_next(cb.message, session, user, places, settings, locale,
                    after_id=callback_data.id)


async def decide(message: Message, session: AsyncSession, user: UserInfo,
                 challenge_notices: ChallengeNotices, clock: Callable[[], datetime],
                 places: PlaceDirectory, settings: Settings, locale: str,
                 sid: int, approve: bool, reason: str | None) -> None:
    try:
        sub = await svc.decide(session, challenge_notices, sid, user, approve, reason, clock())
    except DomainError as exc:
        # answered here, not by the shared error handler: the next entry follows either way
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
    await show_next(message, session, user, places, settings, locale, after_id=sid)


@routes.callback_query(ReviewCD.filter(F.action == "ok"))
async def on_approve(cb: CallbackQuery, callback_data: ReviewCD, session: AsyncSession,
                     user: UserInfo, challenge_notices: ChallengeNotices,
                     clock: Callable[[], datetime], places: PlaceDirectory, settings: Settings,
                     locale: str) -> None:
    await decide(cb.message, session, user, challenge_notices, clock, places, settings, locale,
                 callback_data.id, True, None)


@routes.callback_query(ReviewCD.filter(F.action == "rej"))
async def on_reject(cb: CallbackQuery, callback_data: ReviewCD) -> None:
    await cb.message.answer(_("Why is entry No. {n} rejected?").format(n=callback_data.id),
                            reply_markup=reasons_kb(callback_data.id,
                                                    {k: str(v) for k, v in REASONS.items()}))


@routes.callback_query(ReviewCD.filter(F.action == "why"))
async def on_reason(cb: CallbackQuery, callback_data: ReviewCD, session: AsyncSession,
                    user: UserInfo, challenge_notices: ChallengeNotices,
                    clock: Callable[[], datetime], places: PlaceDirectory, settings: Settings,
                    locale: str) -> None:
    if callback_data.arg not in REASONS:
        return
    await decide(cb.message, session, user, challenge_notices, clock, places, settings, locale,
                 callback_data.id, False, callback_data.arg)


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
                         user: UserInfo, challenge_notices: ChallengeNotices,
                         clock: Callable[[], datetime], places: PlaceDirectory,
                         settings: Settings, locale: str) -> None:
    text = message.text.strip()
    if text.startswith("/") or not 2 <= len(text) <= 500:
        await message.answer(_("Type the reason (2–500 characters), or /cancel."))
        return
    sid = (await state.get_data())["sid"]
    await state.clear()
    await decide(message, session, user, challenge_notices, clock, places, settings, locale,
                 sid, False, text)


@routes.message(ReviewSG.reason)
async def on_reason_wrong(message: Message) -> None:
    await message.answer(_("Type the reason (2–500 characters), or /cancel."))
