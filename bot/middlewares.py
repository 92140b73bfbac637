"""Update pipeline: database session, who is talking and in which language, access, flood."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramRetryAfter
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery
from aiogram.methods.base import TelegramMethod, TelegramType
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.access import callback_allowed, command_allowed, command_of
from bot.aiogram_internals import UNHANDLED
from bot.db_context import current_reader, current_session
from bot.i18n import LANGUAGES, PoI18n
from bot.services.errors import DomainError
from bot.services.users import UserCache, access_role, keep_username, load_user_info
from bot.storage import discard_pending, has_pending
from db.inline_sqlite import offloaded
from db.models import ProcessedUpdate

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
logger = logging.getLogger(__name__)
# Callback query ids answered while handling the current update (see CommitBeforeRequest).
answered_callbacks: ContextVar[set[str] | None] = ContextVar("answered_callbacks", default=None)


class DbSessionMiddleware(BaseMiddleware):
    """One AsyncSession per update, committed when the handler returns.

    When the update came from our polling or webhook runner (`guard_update`), its id is
    recorded in the same transaction: a redelivered update is then recognised and skipped.
    It is recorded last, not claimed first: a crash between a commit and the reply it comes
    before must leave the update to be handled again (answered twice at worst, never lost).
    """

    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session = self.sessionmaker()
        token = current_session.set(session)
        answered_token = answered_callbacks.set(set())
        data["session"] = session
        try:
            result = await handler(event, data)
            if data.get("guard_update") and isinstance(event, Update):
                session.add(ProcessedUpdate(update_id=event.update_id))
            if has_work(session):  # an empty commit still checks a connection out and in
                await session.commit()
            return result
        finally:
            discard_pending(session)  # nothing left after a commit; a failure drops it
            answered_callbacks.reset(answered_token)
            current_session.reset(token)
            await close_session(session)


async def close_session(session: AsyncSession) -> None:
    """Close as `async with` would, without its extra task when there is nothing to release.

    After a commit the session holds no connection: closing it only forgets its objects,
    which needs no I/O. With a transaction still open (the handler failed), the connection
    goes back to the pool the usual way, shielded from cancellation.
    """
    if session.in_transaction():
        await session.__aexit__(None, None, None)
    else:
        session.sync_session.close()


REPLY_RETRIES = 2
MAX_REPLY_WAIT = 30


class CommitBeforeRequest(BaseRequestMiddleware):
    """Commit the update's pending work before any Bot API call.

    The user is told "saved" only once it is saved, and the (single) SQLite connection is
    not held while we wait on the network.

    Also drops a second answer to the same callback query: CallbackAnswerMiddleware answers
    after every handler, also after one that called `cb.answer(text)` itself, and Telegram
    rejects the repeat with an error.
    """

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if isinstance(method, AnswerCallbackQuery):
            answered = answered_callbacks.get()
            if answered is not None:
                if method.callback_query_id in answered:
                    return True  # type: ignore[return-value]
                answered.add(method.callback_query_id)
        session = current_session.get(None)
        if session is None:  # the delivery worker handles 429 itself (it pauses everyone)
            return await make_request(bot, method)
        if has_work(session):
            await session.commit()
        reader = current_reader.get(None)
        if reader is not None and reader.in_transaction():
            # Reads are done by the time a reply goes out: give the read-only connection back
            # (commit, not rollback: the objects read stay loaded).
            await reader.commit()
        for attempt in range(REPLY_RETRIES + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                # A reply to the person talking: wait as told rather than drop it.
                if attempt == REPLY_RETRIES or exc.retry_after > MAX_REPLY_WAIT:
                    raise
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


def has_work(session: AsyncSession) -> bool:
    """Anything to commit: an open transaction, unflushed objects or held FSM writes."""
    return (session.in_transaction() or bool(session.new or session.dirty or session.deleted)
            or has_pending(session))


def _guess_locale(user: User | None, default: str) -> str:
    code = (user.language_code or "")[:2] if user else ""
    return code if code in LANGUAGES else default


class UserContextMiddleware(BaseMiddleware):
    """Puts `user` (UserInfo or None), `role` and the locale in place for everything after."""

    def __init__(self, i18n: PoI18n, cache: UserCache, default_locale: str) -> None:
        self.i18n, self.cache = i18n, cache
        self.default_locale = default_locale

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        info = None
        if tg_user is not None:
            info = await load_user_info(data["session"], self.cache, tg_user.id)
            chat = data.get("event_chat")
            # writes only when their Telegram @username changed; WhatsApp has none (a person
            # linked by /link talks there under their Telegram id): nothing to compare
            if info is not None and (chat is None or chat.id > 0):
                info = await keep_username(data["session"], self.cache, info, tg_user.username)
        data["user"] = info
        data["role"] = access_role(info) if tg_user else "guest"
        locale = info.locale if info else await self._guest_locale(tg_user, data)
        data["locale"] = locale
        with self.i18n.context(), self.i18n.use_locale(locale):
            return await handler(event, data)

    async def _guest_locale(self, tg_user: User | None, data: dict[str, Any]) -> str:
        state: FSMContext | None = data.get("state")
        if state is not None:
            chosen = (await state.get_data()).get("locale")
            if chosen in LANGUAGES:
                return chosen
        return _guess_locale(tg_user, self.default_locale)


class AccessMiddleware(BaseMiddleware):
    """Refuses, politely and in the user's language, any command or button not for their role."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        role = data.get("role", "guest")
        if isinstance(event, Message):
            command = command_of(event.text or event.caption)  # a caption can be a command
            if command is not None and command_allowed(command, role) is False:
                logger.info("refused /%s for role %s", command, role)
                refusal = _("Sorry, this command is not available to you.")
                if role == "guest":  # most likely someone who has not registered yet
                    refusal += "\n" + _("You are not registered yet. Send /start.")
                await event.answer(refusal)
                return None
        elif isinstance(event, CallbackQuery):
            prefix = (event.data or "").split(":", 1)[0]
            if not callback_allowed(prefix, role):
                logger.info("refused callback %r for role %s", prefix, role)
                await event.answer(_("Sorry, this button is not available to you."),
                                   show_alert=True)
                return None
        return await handler(event, data)


class DomainErrors(BaseMiddleware):
    """Inner middleware of dp.message and dp.callback_query, registered after
    CallbackAnswerMiddleware: a DomainError a handler raises goes to the routers' `errors`
    handlers (handlers/shared/errors.py) while the update's session, FSM state and
    language are still open. The update then commits what was done before the error, the
    answer is in the person's language, and a pop-up goes out as the button's one answer.

    aiogram's own error handling is not enough: it runs outermost, after the session has
    rolled back, pending FSM writes were dropped and the language was put back.
    """

    def __init__(self, dp: Dispatcher) -> None:
        self.dp = dp

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except DomainError as exc:
            # `handler` is the failed one's; the errors handler gets its own under that key
            failed = {**data, "failed_flags": data["handler"].flags}
            result = await self.dp.propagate_event(
                "error", ErrorEvent(update=data["event_update"], exception=exc), **failed)
            if result is UNHANDLED:
                raise
            return result


HEAVY_DB = {"heavy_db": True}  # handler flag: long reads (exports, reports, rankings)


class HeavyRuns:
    """Who has a heavy command under way in this process: one at a time per person, so
    nobody can queue up long reads faster than they finish."""

    def __init__(self) -> None:
        self._busy: set[int] = set()

    def start(self, user_id: int) -> bool:
        if user_id in self._busy:
            return False
        self._busy.add(user_id)
        return True

    def finish(self, user_id: int) -> None:
        self._busy.discard(user_id)


def offloading(callback: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A HEAVY_DB handler, wrapped once when its router is built (bot.routing.Routes): its
    SQLite reads run in a worker thread, as aiosqlite would run them, and leave the event
    loop free for everyone else."""

    @functools.wraps(callback)
    async def call(*args: Any, **kwargs: Any) -> Any:
        with offloaded():
            return await callback(*args, **kwargs)

    return call


class HeavyReads(BaseMiddleware):
    """Inner middleware of the observers that have HEAVY_DB handlers (bot.routing.Routes).

    A second heavy command of the same person is refused while the first runs. The update's
    own session (the SQLite writer) is committed first, so the long read holds no connection
    that others need; the handler reads through `read_session` and writes through
    `session`. Polling is told the update may leave its batch (bot.polling).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not get_flag(data, "heavy_db"):
            return await handler(event, data)
        runs: HeavyRuns | None = data.get("heavy_runs")
        who: User | None = data.get("event_from_user")
        if runs is not None and who is not None and not runs.start(who.id):
            await _still_preparing(event)
            return None
        try:
            session: AsyncSession | None = data.get("session")
            if session is not None and has_work(session):
                await session.commit()
            leave_batch = data.get("leave_batch")
            if leave_batch is not None:
                await leave_batch()
            async with _reader(data) as reader:
                data["read_session"] = reader
                return await handler(event, data)
        finally:
            if runs is not None and who is not None:
                runs.finish(who.id)


@contextlib.asynccontextmanager
async def _reader(data: dict[str, Any]) -> AsyncIterator[AsyncSession | None]:
    """A session on the read-only engine, or the update's own one where there is none
    (PostgreSQL: its pool already serves readers and writers side by side)."""
    sessions: async_sessionmaker | None = getattr(data.get("app"), "read_sessionmaker", None)
    if sessions is None:
        yield data.get("session")
        return
    reader = sessions()
    token = current_reader.set(reader)
    try:
        yield reader
    finally:
        current_reader.reset(token)
        await close_session(reader)


async def _still_preparing(event: Any) -> None:
    text = _("⏳ I am still preparing your previous request. It will come in a moment; "
             "then send the next one.")
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    elif isinstance(event, Message):
        await event.answer(text)


def is_internal_timeout(exc: BaseException) -> bool:
    """Something inside waited too long: the connection pool, an asyncio timeout, or
    SQLite's own busy wait. Not the Bot API's errors: a reply may already have gone out."""
    if isinstance(exc, SATimeoutError | TimeoutError):
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig)


class RetryOnTimeout(BaseMiddleware):
    """An update that fails on an internal timeout is handled once more, in a fresh
    session; if that fails as well, the person is told to try again, in their language.
    Either way it is never dropped without a word (the update is then recorded as handled
    by polling, which moves on)."""

    def __init__(self, i18n: PoI18n, cache: UserCache, default_locale: str) -> None:
        self.i18n, self.cache, self.default_locale = i18n, cache, default_locale

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        given = dict(data)  # the handlers after us add to `data`; the error handler reads it
        try:
            return await handler(event, data)
        except Exception as exc:
            if not is_internal_timeout(exc):
                raise
            logger.warning("update %s timed out (%s); handling it once more",
                           getattr(event, "update_id", "?"), type(exc).__name__)
        data.clear()
        data.update(given)
        try:
            return await handler(event, data)
        except Exception as exc:
            if not is_internal_timeout(exc):
                raise
            logger.warning("update %s timed out twice (%s); the person is asked to try again",
                           getattr(event, "update_id", "?"), type(exc).__name__)
        await self._ask_to_retry(event, data)
        return None

    async def _ask_to_retry(self, event: TelegramObject, data: dict[str, Any]) -> None:
        who: User | None = data.get("event_from_user")
        locale = data.get("locale")
        if locale not in LANGUAGES and who is not None:
            cached = self.cache.get(who.id)
            locale = cached.locale if cached else _guess_locale(who, self.default_locale)
        text = self.i18n.translator.t(locale or self.default_locale,
                           "The bot is very busy right now and could not finish this. "
                           "Please try again in a minute.")
        try:
            if isinstance(event, Update) and event.message is not None:
                await event.message.answer(text)
            elif isinstance(event, Update) and event.callback_query is not None:
                await event.callback_query.answer(text, show_alert=True)
        except Exception:  # the notice itself may fail (blocked, network): logged above
            logger.warning("could not ask the sender of update %s to try again",
                           getattr(event, "update_id", "?"))


# KEYS[1]: the user's accepted updates in the window (a sorted set, µs on Redis's clock);
# KEYS[2]: set while the user has been told. ARGV: limit, window µs, a unique member suffix,
# "1" when a refusal may use up the notice (a message; a button press is always answered).
# Returns 0: go on; 1: refuse quietly; 2: refuse and tell (once per flood).
FLOOD_CHECK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
local ttl = math.floor(window / 1000) + 1
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now - window))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  if ARGV[4] == '1' and redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl) then return 2 end
  return 1
end
redis.call('ZADD', KEYS[1], now, string.format('%.0f', now) .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('DEL', KEYS[2])
return 0
"""
GO_ON, REFUSE, REFUSE_AND_TELL = 0, 1, 2


class FloodMiddleware(BaseMiddleware):
    """More than `limit` updates in `window` seconds from one user: drop, with one notice.

    With Redis the count is shared by every instance (one Lua script per update, on Redis's
    clock), so a user spreading a flood over instances still meets one limit. A Redis that
    fails or does not answer within REDIS_TIMEOUT is left alone for QUIET seconds; meanwhile
    each instance counts on its own: a user is never held up by Redis being away.
    """

    REDIS_TIMEOUT = 0.5
    QUIET = 10.0

    def __init__(self, limit: int, window: float, redis: Any | None = None,
                 prefix: str = "bot:flood") -> None:
        self.limit, self.window = limit, window
        self.redis, self.prefix = redis, prefix
        self._check = redis.register_script(FLOOD_CHECK) if redis is not None else None
        self._quiet_until = 0.0
        self._seen: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is None:
            return await handler(event, data)
        verdict = None
        if self._check is not None and time.monotonic() >= self._quiet_until:
            verdict = await self._shared_verdict(tg_user.id, event)
        if verdict is None:  # no Redis, or Redis away: this instance's own count
            verdict = self._local_verdict(tg_user.id, event)
        if verdict != GO_ON:
            await self._refuse(event, verdict == REFUSE_AND_TELL)
            return None
        return await handler(event, data)

    async def _shared_verdict(self, user_id: int, event: TelegramObject) -> int | None:
        key = f"{self.prefix}:{{{user_id}}}"
        try:
            async with asyncio.timeout(self.REDIS_TIMEOUT):
                return int(await self._check(
                    keys=[key, f"{key}:told"],
                    args=[self.limit, round(self.window * 1_000_000), secrets.token_hex(4),
                          "1" if isinstance(event, Message) else "0"]))
        except Exception as exc:  # unreachable, slow or refused: count here for a while
            logger.warning("flood control: Redis away (%s); counting per instance for %s s",
                           exc or type(exc).__name__, self.QUIET)
            self._quiet_until = time.monotonic() + self.QUIET
            return None

    def _local_verdict(self, user_id: int, event: TelegramObject) -> int:
        now = time.monotonic()
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            if isinstance(event, Message) and user_id not in self._warned:
                self._warned.add(user_id)
                return REFUSE_AND_TELL
            return REFUSE
        self._warned.discard(user_id)
        times.append(now)
        if len(self._seen) > 50_000:
            self._seen.clear()
        return GO_ON

    async def _refuse(self, event: TelegramObject, tell: bool) -> None:
        """A message gets one notice per flood. A button press is always answered, or its
        spinner would hang in the person's app; it does not use up the message notice."""
        notice = _("You are sending messages too fast. Please wait a few seconds.")
        if isinstance(event, CallbackQuery) or (tell and isinstance(event, Message)):
            await event.answer(notice)
