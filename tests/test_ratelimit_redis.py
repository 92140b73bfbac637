"""The Redis-backed sending pace: several processes together keep to one rate."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import pytest
from redis.asyncio import Redis

from bot.ratelimit_redis import RedisRateLimiter


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
