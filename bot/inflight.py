"""Updates being handled right now, across webhook instances.

An update's id goes into `processed_updates` only with the handler's last commit (recorded
last, so a crash before the reply leaves it to be handled again). Until then another instance
given Telegram's retry would handle it too; this claim makes that instance step back. The
claim is a Redis key holding a token of its own, kept alive while the handler runs and taken
away only by the one who holds it. A claim held elsewhere is answered 503, not 200, so
Telegram tries again later: if the holder dies mid-update, its claim lapses within
`TTL` seconds and a later retry is handled, never dropped. Without Redis, or while Redis does
not answer, only this process's own claims count and `processed_updates` does the rest.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

logger = logging.getLogger(__name__)

TTL = 30  # seconds a claim outlives its holder
REFRESH = TTL / 3  # while the handler runs
REDIS_TIMEOUT = 1.0  # a Redis that stops answering must not stall updates
QUIET = 10.0  # seconds without Redis after it failed to answer

# Only the holder may extend or drop a claim: the key holds its token.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_DROP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class InFlight:
    def __init__(self, redis: Any | None, prefix: str = "bot:webhook:in_flight") -> None:
        self.redis, self.prefix = redis, prefix
        self._local: set[int] = set()
        self._keepers: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._quiet_until = 0.0  # Redis failed: leave it alone until then

    async def claim(self, update_id: int) -> bool:
        """False when the update is being handled now, here or by another instance."""
        if update_id in self._local:
            return False
        self._local.add(update_id)
        try:
            return await self._claim_in_redis(update_id)
        except BaseException:  # cancelled mid-claim: the id must not stay claimed here
            self._local.discard(update_id)
            raise

    async def _claim_in_redis(self, update_id: int) -> bool:
        if not self._redis_usable():
            return True
        token = secrets.token_hex(8)
        held = await self._redis(self.redis.set(self._key(update_id), token, nx=True, ex=TTL))
        if held is None:  # the key exists: another instance holds the update
            self._local.discard(update_id)
            return False
        # Also after no answer: the SET may have landed, and only the token can drop it.
        self._keepers[update_id] = (token, asyncio.create_task(self._keep(update_id, token)))
        return True

    async def release(self, update_id: int) -> None:
        """Called once by whoever claimed the update, when it is handled (or failed)."""
        self._local.discard(update_id)
        token, keeper = self._keepers.pop(update_id, (None, None))
        if keeper is not None:
            keeper.cancel()
            await asyncio.wait([keeper])  # not `await keeper`: our own cancel must get through
        if token is not None and self._redis_usable():
            await self._redis(self.redis.eval(_DROP, 1, self._key(update_id), token))

    async def _keep(self, update_id: int, token: str) -> None:
        while True:
            await asyncio.sleep(REFRESH)
            if not self._redis_usable():
                continue
            kept = await self._redis(self.redis.eval(_EXTEND, 1, self._key(update_id), token, TTL))
            if kept == 0:
                logger.warning("the claim on update %s lapsed while it was handled", update_id)

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:{update_id}"

    def _redis_usable(self) -> bool:
        return self.redis is not None and asyncio.get_running_loop().time() >= self._quiet_until

    async def _redis(self, call: Any) -> Any:
        """The call's result, or NO_ANSWER when Redis fails or does not answer in time; then
        Redis is left alone for QUIET seconds, so an outage costs one time-out, not one each
        update."""
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                return await call
        except Exception as exc:  # unreachable, timed out, or refused: carry on without it
            logger.warning("in-flight claims in Redis paused for %s s: %s", QUIET,
                           exc or type(exc).__name__)
            self._quiet_until = asyncio.get_running_loop().time() + QUIET
            return NO_ANSWER


NO_ANSWER = object()
