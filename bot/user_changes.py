"""Every instance drops its cached copy of a user as soon as one of them changes the user.

`UserCache` (bot.services.users) keeps who is talking, with their role, status, locale, scope
and limits, so that an update needs no query. With several instances on one PostgreSQL, a
staff member approving a coordinator on instance A would leave B answering from B's old copy.

A write calls `cache.forget` (or `put`); the change is announced here once the update's
transaction commits (before it, B would read the old row again) on a Redis pub/sub channel,
and every other instance drops the user. Announcements can be lost (Redis restarts, a
network split), so entries also expire:

- while this instance is subscribed and the subscription answers its pings: `SUBSCRIBED_TTL`,
  a safety net only; an announcement that failed is retried for that long;
- otherwise (no REDIS_URL, Redis unreachable): `ALONE_TTL` seconds, so a change made
  elsewhere is seen within that time. Losing the subscription also empties the cache: what
  was announced meanwhile was not heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.db_context import current_session
from bot.services.numbers import as_int
from bot.services.users import UserCache

logger = logging.getLogger(__name__)

ALONE_TTL = 2.0  # seconds: how late a change made elsewhere may be seen without Redis
SUBSCRIBED_TTL = 30.0  # seconds: the safety net while announcements arrive
PING_EVERY = 2.0  # seconds between checks that the subscription still answers
REDIS_TIMEOUT = 1.0
RETRY_EVERY = 1.0  # seconds between attempts to subscribe or to publish again
CHANGED = "users_changed"  # session.info key: users changed in the open transaction


class UserChanges:
    """Announces this instance's user writes and applies everyone else's, through Redis."""

    def __init__(self, cache: UserCache, redis: Redis, channel: str) -> None:
        self.cache, self.redis, self.channel = cache, redis, channel
        self.origin = secrets.token_hex(4)  # our own announcements come back: skip them
        self.subscribed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        cache.on_change = self.changed

    # --- announcing ------------------------------------------------------------------

    def changed(self, tg_id: int) -> None:
        """Called by the cache on a write: announce it when the write is committed."""
        session = current_session.get(None)
        if session is None or not session.in_transaction():  # nothing left to commit
            self._send({tg_id})
            return
        sync = session.sync_session
        pending = sync.info.get(CHANGED)
        if pending is None:
            pending = sync.info[CHANGED] = set()
            event.listen(sync, "after_commit", self._after_commit)
            event.listen(sync, "after_rollback", _drop_pending)
        pending.add(tg_id)

    def _after_commit(self, session: Session) -> None:
        pending = session.info.pop(CHANGED, None)
        session.info[CHANGED] = set()  # the session may go on to a second transaction
        if pending:
            for tg_id in pending:  # read again by another update before the commit?
                self.cache.drop(tg_id)
            self._send(pending)

    def _send(self, tg_ids: set[int]) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(tg_ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, tg_ids: set[int]) -> None:
        """Publish; on failure try again while a copy elsewhere may still live."""
        payload = f"{self.origin}:" + ",".join(map(str, sorted(tg_ids)))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SUBSCRIBED_TTL  # by then every copy elsewhere has expired
        while True:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT):
                    await self.redis.publish(self.channel, payload)
                return
            except Exception as exc:  # unreachable or slow: try again shortly
                if loop.time() + RETRY_EVERY >= give_up:
                    logger.warning("a user change was not announced (%s); other instances "
                                   "see it when their copy expires", exc or type(exc).__name__)
                    return
                await asyncio.sleep(RETRY_EVERY)

    # --- listening -------------------------------------------------------------------

    async def start(self, wait: float = REDIS_TIMEOUT * 2) -> None:
        """Subscribe in the background; wait a moment for it so the first updates use it."""
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.subscribed.wait()

    async def close(self) -> None:
        tasks = [t for t in (self._listener, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._listener = None

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # lost or never had it: expire quickly, try again
                if self.subscribed.is_set():
                    logger.warning("user changes: Redis subscription lost (%s)",
                                   exc or type(exc).__name__)
                self._unsubscribed()
                await asyncio.sleep(RETRY_EVERY)

    async def _listen_once(self) -> None:
        pubsub = self.redis.pubsub()
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                await pubsub.subscribe(self.channel)
            if await self._next(pubsub, REDIS_TIMEOUT) is None:
                raise TimeoutError("no confirmation of the subscription")
            # Whatever was announced while we were not listening is lost: start afresh.
            self.cache.clear()
            self.cache.ttl = SUBSCRIBED_TTL
            self.subscribed.set()
            pinged = False
            while True:
                message = await self._next(pubsub, PING_EVERY)
                if message is not None:  # an announcement, or the answer to our ping
                    pinged = False
                    self._apply(message)
                elif pinged:
                    raise TimeoutError("the subscription does not answer a ping")
                else:  # quiet: does the subscription still answer?
                    async with asyncio.timeout(REDIS_TIMEOUT):
                        await pubsub.ping()
                    pinged = True
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    @staticmethod
    async def _next(pubsub: Any, timeout: float) -> dict[str, Any] | None:
        """The next message within `timeout` seconds, or None."""
        async with asyncio.timeout(timeout + REDIS_TIMEOUT):
            return await pubsub.get_message(timeout=timeout)

    def _apply(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        data = message["data"]
        origin, _, ids = (data.decode() if isinstance(data, bytes) else str(data)).partition(":")
        if origin == self.origin:
            return
        for part in ids.split(","):  # ASCII digits only: int() refuses "²", isdigit() not
            if (tg_id := as_int(part)) is not None:
                self.cache.drop(tg_id)

    def _unsubscribed(self) -> None:
        self.subscribed.clear()
        self.cache.ttl = ALONE_TTL
        self.cache.clear()


def _drop_pending(session: Session) -> None:
    """A rolled-back write changed nothing: nothing to announce."""
    session.info[CHANGED] = set()
