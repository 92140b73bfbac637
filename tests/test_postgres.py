"""PostgreSQL and Redis: migrations on PostgreSQL, and two workers sharing one queue and rate."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections import Counter

import pytest
from aiogram import Bot
from redis.asyncio import Redis
from sqlalchemy import func, insert, inspect, select

from bot.channels.telegram import TelegramChannel
from bot.cluster import exclusive
from bot.delivery import DeliveryWorker
from bot.local_api import LocalSession
from bot.ratelimit_redis import RedisRateLimiter
from bot.services.delivery import OutgoingMessage, Recipient, enqueue
from db.engine import create_engine, create_sessionmaker
from db.migrate import downgrade, upgrade_async
from db.models import Base, Delivery, Region, User
from tests import pg
from tests.test_ratelimit_redis import max_in_window

TOKEN = "42:test-token-for-two-workers-only"


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL not set")
    return url


async def test_migrations_walk_up_and_down_on_postgres() -> None:
    async with pg.fresh_database(migrated=False) as url:
        await upgrade_async(url)
        engine = create_engine(url)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        async with create_sessionmaker(engine)() as s:
            # Seeded regions have explicit ids; the sequence must have moved past them.
            s.add(Region(code="test_region", name_kk="a", name_ru="a", name_en="a"))
            await s.commit()
            users = [User(tg_id=8_000_000_000 + n, chat_id=-1_002_000_000_000 - n,
                          role="student", settings={"n": n}) for n in range(2)]
            s.add_all(users)
            await s.commit()
            assert users[0].tg_id == 8_000_000_000
        await engine.dispose()
        await asyncio.to_thread(downgrade, url, "base")
        await upgrade_async(url)


async def test_instances_starting_together_migrate_once() -> None:
    async with pg.fresh_database(migrated=False) as url:
        # Separate processes, as real instances are (Alembic's context is per process).
        code = f"from db.migrate import upgrade; upgrade({url!r})"
        procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", code)
                 for _ in range(3)]
        assert [await asyncio.wait_for(p.wait(), 120) for p in procs] == [0, 0, 0]
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(Region)) > 10
        await engine.dispose()


async def test_a_tick_runs_in_one_instance_at_a_time() -> None:
    async with pg.fresh_database() as url:
        engines = [create_engine(url) for _ in range(2)]
        try:
            async with (exclusive(engines[0], "tick:digest") as first,
                        exclusive(engines[1], "tick:digest") as second,
                        exclusive(engines[1], "tick:other") as other):
                assert (first, second, other) == (True, False, True)
            async with exclusive(engines[1], "tick:digest") as later:
                assert later is True
        finally:
            for engine in engines:
                await engine.dispose()


async def test_two_workers_share_queue_and_rate() -> None:
    redis = redis_url()
    rate, people = 400.0, 2000
    async with pg.fresh_database() as url:
        setup = create_engine(url)
        async with create_sessionmaker(setup)() as s:
            await s.execute(insert(User), [
                {"tg_id": 10_000 + n, "chat_id": 10_000 + n, "role": "student",
                 "status": "active", "locale": "kk", "settings": {}} for n in range(people)])
            ids = (await s.scalars(select(User.id).order_by(User.id))).all()
            queued = await enqueue(s, "broadcast", 1,
                                   [Recipient(uid, 10_000 + n) for n, uid in enumerate(ids)],
                                   {"default": OutgoingMessage(text="Сәлем, парламент!")})
            await s.commit()
        await setup.dispose()
        assert queued == people

        prefix = f"test:{secrets.token_hex(4)}"
        apis, workers, engines = [], [], []
        for n in range(2):  # two "processes": own engine, own Bot, own limiter connection
            api = LocalSession()
            engine = create_engine(url)
            limiter = RedisRateLimiter(Redis.from_url(redis), rate, prefix=prefix)
            channels = {"telegram": TelegramChannel(Bot(TOKEN, session=api))}
            workers.append(DeliveryWorker(channels, create_sessionmaker(engine),
                                          limiter=limiter, concurrency=8, worker_id=f"w{n}"))
            apis.append(api)
            engines.append(engine)
        started = time.monotonic()
        try:
            done = await asyncio.gather(*(w.drain() for w in workers))
        finally:
            elapsed = time.monotonic() - started
            for w, engine in zip(workers, engines, strict=True):
                await w.limiter.close()  # type: ignore[attr-defined]
                await engine.dispose()

        sends = [c for api in apis for c in api.calls if c.method == "sendMessage"]
        per_chat = Counter(c.chat_id for c in sends)
        assert len(per_chat) == people and set(per_chat.values()) == {1}  # each exactly once
        assert sum(done) == people and min(done) > people // 4  # both took a real share
        # Slots are exact; a sender woken late by a busy loop adds at most one send of an
        # earlier slot to a window (see test_two_limiters_share_one_rate): 2 × 8 senders.
        assert max_in_window([c.at for c in sends], 1.0) <= rate + 1 + 2 * 8
        assert elapsed >= (people - 1) / rate * 0.97

        check = create_engine(url)
        async with create_sessionmaker(check)() as s:
            statuses = dict((await s.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status))).all())
        await check.dispose()
        assert statuses == {"sent": people}
