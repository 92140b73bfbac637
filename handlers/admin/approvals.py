"""Coordinator requests: the decision by button and /pending, the queue of requests."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ApproveCD
from bot.config import Settings
from bot.i18n import PoI18n
from bot.notices.approvals import describe_coordinator, notify_coordinator_decision
from bot.routing import Routes
from bot.services import approvals
from bot.services import registration as reg
from bot.services.approvals import AreaQueue
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.users import UserCache, UserInfo
from db.models import User
from handlers.admin.common import active_me
from handlers.shared.errors import StaleButton, error_flags

routes = Routes(__name__)

PENDING_SHOWN = 20


def approval_markup(user_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Approve"), callback_data=ApproveCD(user_id=user_id, ok=True))
    kb.button(text=_("❌ Reject"), callback_data=ApproveCD(user_id=user_id, ok=False))
    return kb.as_markup()


def outcome_line(coordinator: User, decider: User | None) -> str:
    name = html.escape(decider.full_name or "—") if decider else "—"
    if coordinator.status == "active":
        return _("✅ Approved by {name}").format(name=name)
    return _("❌ Rejected by {name}").format(name=name)


async def show_outcome(cb: CallbackQuery, line: str) -> None:
    """Append the outcome to the request message and drop its buttons."""
    if isinstance(cb.message, Message) and cb.message.text:
        await cb.message.edit_text(f"{cb.message.html_text}\n\n{line}", reply_markup=None)
    else:  # too old to edit: say it in a new message, in the chat pressed in (a linked
        # WhatsApp chat is not the person's Telegram id)
        chat_id = cb.message.chat.id if cb.message is not None else cb.from_user.id
        await cb.bot.send_message(chat_id, line)


async def _already_decided(session: AsyncSession, cb: CallbackQuery, decider: User,
                           user_id: int) -> None:
    """A request of the decider's scope decided meanwhile (by someone else): show by whom,
    and say so."""
    done = await session.get(User, user_id)
    if done is None or done.role != "coordinator" or done.status in ("pending", "erased") \
            or not approvals.approves(decider, done):
        return
    decider = await session.get(User, done.approved_by) if done.approved_by else None
    await show_outcome(cb, outcome_line(done, decider))
    raise DomainError("already_decided", status=done.status)


@routes.callback_query(ApproveCD.filter(), flags=error_flags(alert=True))
async def on_decision(cb: CallbackQuery, callback_data: ApproveCD, session: AsyncSession,
                      users: UserCache, i18n: PoI18n, settings: Settings,
                      user: UserInfo | None, callback_answer: CallbackAnswer) -> None:
    staff = await active_me(session, user)
    if staff is None:
        raise StaleButton()
    await _already_decided(session, cb, staff, callback_data.user_id)
    coordinator = await reg.decide_coordinator(session, users, staff, callback_data.user_id,
                                               callback_data.ok)
    await notify_coordinator_decision(session, i18n.translator, coordinator, callback_data.ok,
                                      settings.centre_contact)
    await show_outcome(cb, outcome_line(coordinator, staff))
    callback_answer.text = _("Done: the coordinator will be told.")


def age_text(since: datetime | None, now: datetime) -> str:
    """How long a request has waited: days and hours, or hours and minutes."""
    if since is None:
        return "—"
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, hours = minutes // 1440, minutes % 1440 // 60
    if days:
        return _("{days} d {hours} h").format(days=days, hours=hours)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes % 60)


def area_text(places: PlaceDirectory, region_id: int | None, district_id: int | None,
              locale: str) -> str:
    return html.escape(" — ".join(places.names(region_id, district_id, locale))) or "—"


def queue_text(queue: list[AreaQueue], places: PlaceDirectory, now: datetime,
               locale: str) -> str:
    total = sum(area.waiting for area in queue)
    lines = [_("Coordinators waiting for approval: {count}.").format(count=total)]
    lines += [_("• {area}: {count}, the oldest waits {age}").format(
        area=area_text(places, a.region_id, a.district_id, locale), count=a.waiting,
        age=age_text(a.since, now)) for a in queue]
    return "\n".join(lines)


@routes.message(Command("pending"))
async def cmd_pending(message: Message, session: AsyncSession, i18n: PoI18n,
                      places: PlaceDirectory, clock: Callable[[], datetime], locale: str,
                      user: UserInfo | None) -> None:
    """The queue this person decides (staff: all; a regional coordinator: her region's
    district coordinators), by area with its age, then each request's card."""
    me = await active_me(session, user)
    queue = await approvals.queue_by_area(session, me) if me is not None else []
    if not queue:
        await message.answer(_("No coordinators are waiting for approval."))
        return
    now = clock()
    await message.answer(queue_text(queue, places, now, locale))
    waiting = await approvals.pending_requests(session, me, PENDING_SHOWN)
    for request in waiting:
        await message.answer(
            describe_coordinator(i18n.translator, places, request, locale) + "\n"
            + _("Waiting: {age}").format(age=age_text(request.consent_at, now)),
            reply_markup=approval_markup(request.id))
    if sum(area.waiting for area in queue) > len(waiting):
        await message.answer(_("Decide on these and send /pending again to see the rest."))
