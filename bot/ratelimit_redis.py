"""A sending pace shared by every bot process through Redis (`bot.pacing.RateLimiter`).

Each `acquire()` reserves the next free send slot in one atomic Lua script: slots are
`1 / rate` seconds apart on Redis's own clock, so N processes together send at most `rate`
messages per second, evenly spaced, whatever their local clocks say. One chat gets at most
one message per `per_chat` seconds across all processes. A 429 seen by any process
(`pause`) moves the shared next slot past the pause, so every process waits. While Redis is
unreachable nothing is sent (acquire waits and retries): going faster is never the fallback.

The slots are exact; the sends are as punctual as the event loop. A sender woken late (a busy
loop) goes right before the next slot's owner, so one second can hold a few more sends than
`rate`: at most one per sender, since each holds one reservation at a time. Keep DELIVERY_RATE
below Telegram's limit (the default 25 against ~30) for that margin; a 429 pauses everyone.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "bot:delivery"

# KEYS[1]: next free global slot (µs, Redis clock); KEYS[2]: the chat's next free time.
# ARGV: slot length µs, pause µs (0 = none), per-chat gap µs (0 = no chat key).
# Returns µs to wait before the reserved slot, or a negative number: the chat is not ready
# for that many µs and nothing was reserved.
RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local pause = tonumber(ARGV[2])
local per_chat = tonumber(ARGV[3])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if pause > 0 then free = math.max(free, now + pause) end
if per_chat > 0 then
  local chat_free = tonumber(redis.call('GET', KEYS[2]) or '0')
  if chat_free > now then
    if pause > 0 then
      redis.call('SET', KEYS[1], string.format('%.0f', free), 'PX',
                 math.floor((free - now) / 1000) + 1000)
    end
    return -(chat_free - now)
  end
end
local slot = math.max(now, free)
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX',
           math.floor((slot + interval - now) / 1000) + 1000)
if per_chat > 0 then
  redis.call('SET', KEYS[2], string.format('%.0f', slot + per_chat), 'PX',
             math.floor((slot + per_chat - now) / 1000) + 1000)
end
return slot - now
"""


class RedisRateLimiter:
    """`await limiter.acquire(chat_id)` before each send; at most `rate` sends/s in total."""

    def __init__(self, redis: Redis, rate: float, *, per_chat: float = 1.0,
                 prefix: str = DEFAULT_PREFIX, retry_delay: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.redis, self.rate, self.prefix = redis, rate, prefix
        self.retry_delay = retry_delay
        self.interval_us = max(1, round(1_000_000 / rate))
        self.per_chat_us = max(0, round(per_chat * 1_000_000))
        self._pause_us = 0
        self._reserve = redis.register_script(RESERVE_SLOT)

    @classmethod
    def from_url(cls, url: str, rate: float, **kwargs: object) -> RedisRateLimiter:
        return cls(Redis.from_url(url), rate, **kwargs)  # type: ignore[arg-type]

    def pause(self, seconds: float) -> None:
        """A 429: the next reservation pushes every process's next slot past the pause."""
        logger.warning("flood control: all sending paused for %.1f s", seconds)
        self._pause_us = max(self._pause_us, round(max(seconds, 0) * 1_000_000))

    async def acquire(self, chat_id: int | None = None) -> None:
        chat_key = f"{self.prefix}:chat:{chat_id}" if chat_id is not None else ""
        per_chat = self.per_chat_us if chat_id is not None else 0
        while True:
            pause, self._pause_us = self._pause_us, 0
            try:
                wait_us = int(await self._reserve(
                    keys=[f"{self.prefix}:next_slot", chat_key or f"{self.prefix}:nochat"],
                    args=[self.interval_us, pause, per_chat]))
            except (RedisError, OSError) as exc:
                self._pause_us = max(self._pause_us, pause)
                logger.warning("rate limiter: Redis unreachable (%s); holding sends", exc)
                await asyncio.sleep(self.retry_delay)
                continue
            await asyncio.sleep(abs(wait_us) / 1_000_000)
            if wait_us >= 0:
                return

    async def close(self) -> None:
        await self.redis.aclose()


def shared_limiter(redis_url: str | None, rate: float, local: bool, *, per_chat: float = 1.0,
                   prefix: str = DEFAULT_PREFIX) -> RedisRateLimiter | None:
    """For build_app: with REDIS_URL, one pace for all processes. Not for the in-process API
    (tests, console), whose time is virtual. `prefix` names the pace (a channel's own:
    WhatsApp's per business number)."""
    if not redis_url or local:
        return None
    return RedisRateLimiter.from_url(redis_url, rate, per_chat=per_chat, prefix=prefix)
