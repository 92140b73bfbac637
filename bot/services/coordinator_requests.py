"""Coordinator requests: a limit per person that survives /deleteme, and few staff notices.

Each request to become a coordinator (registration without an invite) pushed a notice to every
staff member, and "register as coordinator, /deleteme, again" repeated it without limit
(review L4). Now:

- a person may send at most REQUESTS_PER_DAY requests a day. They are remembered by a keyed
  hash of the Telegram id (the key lives in `bot_state`), not by the id, and only for a day:
  the rows are deleted after REQUEST_WINDOW;
- staff get at most one notice per NOTICE_PERIOD: the first request of a quiet period comes as
  its own card with Approve / Reject, the later ones are summed up in one notice ("N new
  requests — /pending") when the period is over (`requests_tick`). Requests decided or erased
  meanwhile are left out of it. `/pending` always lists every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from db.models import BotState, CoordinatorRequest, User
from db.upserts import insert_for

REQUESTS_PER_DAY = 2  # a second chance for a typo; a third the next day
REQUEST_WINDOW = timedelta(days=1)
NOTICE_PERIOD = timedelta(hours=1)
SECRET_KEY = "coordinator_requests.secret"
NOTICE_KEY = "coordinator_requests.notice_at"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # UTC, fixed width: compared as text


async def _state(session: AsyncSession, key: str, initial: str) -> str:
    """A `bot_state` value, created with `initial` by whoever comes first."""
    await session.execute(insert_for(session)(BotState).values(key=key, value=initial)
                          .on_conflict_do_nothing(index_elements=["key"]))
    return await session.scalar(select(BotState.value).where(BotState.key == key)) or initial


async def person_key(session: AsyncSession, tg_id: int) -> str:
    secret = await _state(session, SECRET_KEY, secrets.token_hex(32))
    return hmac.new(bytes.fromhex(secret), str(tg_id).encode(), hashlib.sha256).hexdigest()


async def admit(session: AsyncSession, tg_id: int, now: datetime) -> str:
    """The person's key if they may send a coordinator request now; else DomainError."""
    key = await person_key(session, tg_id)
    recent = await session.scalar(select(func.count()).select_from(CoordinatorRequest).where(
        CoordinatorRequest.person_key == key,
        CoordinatorRequest.requested_at > now - REQUEST_WINDOW)) or 0
    if recent >= REQUESTS_PER_DAY:
        raise DomainError("coordinator_request_limit", max=REQUESTS_PER_DAY)
    return key


async def record(session: AsyncSession, key: str, user_id: int, now: datetime) -> None:
    session.add(CoordinatorRequest(person_key=key, requested_at=now, user_id=user_id))
    await session.flush()


async def claim_notice(session: AsyncSession, now: datetime) -> bool:
    """True for the one caller that may notify staff now: none did in the last period (a
    guarded UPDATE, so two instances at the same moment cannot both)."""
    await _state(session, NOTICE_KEY, "")
    cutoff = _utc_text(now - NOTICE_PERIOD)
    result = await session.execute(
        update(BotState).where(BotState.key == NOTICE_KEY, BotState.value <= cutoff)
        .values(value=_utc_text(now)).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


async def announced(session: AsyncSession, user_id: int) -> None:
    """Staff were told about this request: nothing links its key to the person any more."""
    await session.execute(update(CoordinatorRequest)
                          .where(CoordinatorRequest.user_id == user_id)
                          .values(user_id=None).execution_options(synchronize_session=False))


async def unannounced(session: AsyncSession) -> int:
    """Requests no notice has covered yet that still wait for a decision. Those decided or
    erased meanwhile are let go (their link to the person dropped)."""
    still_pending = select(User.id).where(User.role == "coordinator", User.status == "pending")
    await session.execute(update(CoordinatorRequest).where(
        CoordinatorRequest.user_id.is_not(None), CoordinatorRequest.user_id.not_in(still_pending))
        .values(user_id=None).execution_options(synchronize_session=False))
    return await session.scalar(select(func.count()).select_from(CoordinatorRequest).where(
        CoordinatorRequest.user_id.is_not(None))) or 0


async def all_announced(session: AsyncSession) -> None:
    await session.execute(update(CoordinatorRequest).where(
        CoordinatorRequest.user_id.is_not(None)).values(user_id=None)
        .execution_options(synchronize_session=False))


async def forget_old(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(CoordinatorRequest).where(
        CoordinatorRequest.requested_at <= now - REQUEST_WINDOW))
    return result.rowcount or 0
