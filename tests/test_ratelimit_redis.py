"""The Redis-backed sending pace: several processes together keep to one rate."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import pytest
from redis.asyncio import Redis

from bot.channels.whatsapp.session import PAIR_RATE_WAIT
from bot.channels.whatsapp.transport import whatsapp_pace
from bot.config import Settings
from bot.pacing import LocalRateLimiter, RealTimer
from bot.ratelimit_redis import DEFAULT_PREFIX, RedisRateLimiter, shared_limiter


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL not set")
    return url


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_limiters_share_one_rate() -> None:
    url, prefix = redis_url(), f"test:rate:{secrets.token_hex(4)}"
    rate, per_process = 500.0, 100
    limiters = [RedisRateLimiter(Redis.from_url(url), rate, prefix=prefix) for _ in range(2)]
    times: list[float] = []

    async def sender(limiter: RedisRateLimiter) -> None:
        for _ in range(per_process):
            await limiter.acquire(None)
            times.append(time.monotonic())

    try:
        started = time.monotonic()
        await asyncio.gather(*(sender(lim) for lim in limiters for _ in range(4)))
        elapsed = time.monotonic() - started
    finally:
        for lim in limiters:
            await lim.close()
    total = len(times)
    assert total == 2 * 4 * per_process
    assert elapsed >= (total - 1) / rate * 0.97
    # Slots are exact, but a sender woken late (a busy loop) lands next to the following
    # slot. Each sender holds one reservation at a time, so in any one-second window at most
    # one send per sender comes from a slot before it: rate + 1 + senders, whatever the delay.
    assert max_in_window(times, 1.0) <= rate + 1 + 2 * 4


async def test_unreachable_redis_holds_sends() -> None:
    limiter = RedisRateLimiter(Redis.from_url("redis://127.0.0.1:1/0"), 10.0,
                               retry_delay=0.01)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(limiter.acquire(), 0.2)
    await limiter.close()


async def test_one_chat_waits_and_a_pause_holds_everyone() -> None:
    url, prefix = redis_url(), f"test:rate:{secrets.token_hex(4)}"
    first, second = (RedisRateLimiter(Redis.from_url(url), 1000.0, per_chat=0.2, prefix=prefix)
                     for _ in range(2))
    try:
        started = time.monotonic()
        await first.acquire(42)
        await second.acquire(42)  # same chat from another process: 0.2 s later
        assert time.monotonic() - started >= 0.19
        paused_at = time.monotonic()
        first.pause(0.3)
        waiting = asyncio.create_task(first.acquire(7))  # tells Redis about the pause
        await asyncio.sleep(0.05)
        await second.acquire(8)  # the other process waits out the pause too
        assert time.monotonic() - paused_at >= 0.29
        await waiting
    finally:
        await first.close()
        await second.close()


async def test_whatsapp_rate_and_pair_pacing_hold_across_processes() -> None:
    """Two bot processes of one WhatsApp number (their paces as build_whatsapp makes them,
    with REDIS_URL) keep WHATSAPP_RATE together, and one person's 6 s between messages;
    another number has a pace of its own."""
    url, rate = redis_url(), 80.0

    def pace(number: str) -> RedisRateLimiter:
        settings = Settings(_env_file=None, redis_url=url, whatsapp_rate=rate,
                            redis_prefix=prefix, whatsapp_phone_number_id=number)
        limiter = whatsapp_pace(settings, RealTimer(), shared=True)
        assert isinstance(limiter, RedisRateLimiter)
        return limiter

    prefix = f"test:{secrets.token_hex(4)}"
    first, second, other = pace("100"), pace("100"), pace("200")
    times: list[float] = []

    async def sender(limiter: RedisRateLimiter, person: int) -> None:
        for n in range(20):
            await limiter.acquire(person * 100 + n)  # a new person each time: no pair wait
            times.append(time.monotonic())

    try:
        started = time.monotonic()
        await asyncio.gather(*(sender(lim, i) for i, lim in enumerate([first, second] * 4)))
        elapsed = time.monotonic() - started
        assert len(times) == 160
        assert elapsed >= 159 / rate * 0.97  # the two processes shared one rate
        assert max_in_window(times, 1.0) <= rate + 1 + 8
        await first.acquire(-7)  # a person written to by one process …
        with pytest.raises(TimeoutError):  # … waits ~6 s in the other
            await asyncio.wait_for(second.acquire(-7), 1.0)
        await asyncio.wait_for(second.acquire(-8), 1.0)  # someone else does not
        await asyncio.wait_for(other.acquire(-7), 1.0)  # nor does another number's pace
    finally:
        for lim in (first, second, other):
            await lim.close()


def test_without_redis_whatsapp_is_paced_in_the_process() -> None:
    settings = Settings(_env_file=None, redis_url=None, whatsapp_rate=40)
    limiter = whatsapp_pace(settings, RealTimer(), shared=False)
    assert isinstance(limiter, LocalRateLimiter) and limiter.per_chat == PAIR_RATE_WAIT


def test_each_bot_on_one_redis_has_its_own_telegram_pace() -> None:
    """REDIS_PREFIX separates two bots' paces as it does their other keys (build_app names
    it "<REDIS_PREFIX>:delivery": the default prefix keeps the key deployments already use)."""
    default = Settings(_env_file=None).redis_prefix
    assert f"{default}:delivery" == DEFAULT_PREFIX
    limiter = shared_limiter("redis://127.0.0.1:1/0", 25, False, prefix="b2:delivery")
    assert limiter is not None and limiter.prefix == "b2:delivery"
    assert shared_limiter("redis://127.0.0.1:1/0", 25, True) is None  # in-process API
