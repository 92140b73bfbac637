"""Pacing of sends: when the next one may go (rate limiters) and what time it is (timers).

- `LocalRateLimiter`: slots spaced evenly, 1/rate apart (never bursts after a pause), and one
  chat at most once a second; a 429 (`pause`) stops every sender of the limiter. It serves
  one process; bot.ratelimit_redis.RedisRateLimiter implements the same two methods for
  several.
- `RealTimer` is the clock of production; `VirtualTimer` is time that passes only when
  someone sleeps (tests and the in-process API never wait).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from typing import Protocol

logger = logging.getLogger(__name__)


# --- time -------------------------------------------------------------------------------
class Timer(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0))


class VirtualTimer:
    """Time that passes only when someone sleeps: tests (and the in-process API) never wait.

    Sleepers wake in order of their wake-up time, and the clock jumps to that time, so rate
    pacing is exact in virtual time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        entry = (self.now + seconds, next(self._seq))
        heapq.heappush(self._sleepers, entry)
        try:
            while self._sleepers[0] != entry:
                await asyncio.sleep(0)
        finally:
            self._sleepers.remove(entry)
            heapq.heapify(self._sleepers)
        self.now = max(self.now, entry[0])


# --- rate limiting ------------------------------------------------------------------------
class RateLimiter(Protocol):
    """What the worker needs from a limiter; a Redis-backed one shares it across processes."""

    async def acquire(self, chat_id: int | None) -> None:
        """Wait for a global slot and (for a chat) the chat's slot."""

    def pause(self, seconds: float) -> None:
        """A 429: nobody sends before `seconds` from now."""


class LocalRateLimiter:
    """Even pacing (virtual scheduling): slot k goes out at start + k/rate, never in bursts."""

    def __init__(self, rate: float | None, timer: Timer, per_chat: float = 1.0) -> None:
        # A hair over 1/rate: jitter in when a sender actually goes can never make two
        # sends closer than the interval, so no one-second window ever holds rate + 1.
        self.interval = 1.002 / rate if rate else 0.0
        self._last = float("-inf")
        self.per_chat = per_chat
        self.timer = timer
        self._next = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}

    def pause(self, seconds: float) -> None:
        until = self.timer.monotonic() + max(seconds, 0)
        if until > self._paused_until:
            logger.warning("flood control: all sending paused for %.1f s", seconds)
            self._paused_until = until

    async def acquire(self, chat_id: int | None) -> None:
        timer = self.timer
        while True:
            now = timer.monotonic()
            if chat_id is not None:
                ready = self._chat_next.get(chat_id, 0.0)
                if ready > now:
                    await timer.sleep(ready - now)
                    continue
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self.interval
            previous = self._chat_next.get(chat_id) if chat_id is not None else None
            if chat_id is not None:
                self._chat_next[chat_id] = slot + self.per_chat
            if slot > now:
                await timer.sleep(slot - now)
            if self._paused_until > slot:  # a 429 came in while we waited: take a new slot
                if chat_id is not None:
                    if previous is None:
                        self._chat_next.pop(chat_id, None)
                    else:
                        self._chat_next[chat_id] = previous
                continue
            while (late := self._last + self.interval - timer.monotonic()) > 0:
                await timer.sleep(late)  # the previous sender went late: keep the real gap
            self._last = timer.monotonic()
            self._prune(slot)
            return

    def _prune(self, now: float) -> None:
        if len(self._chat_next) > 50_000:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
