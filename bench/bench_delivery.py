"""The delivery queue and broadcasts on SQLite, against the in-process Bot API.

(a) throughput with the rate limit lifted — target ≥ 2,000 deliveries/s;
(b) the default DELIVERY_RATE with 1,000 recipients — sustained rate ≥ 90 % of the limit and
    never above it in any one-second window (≈ 40 s of real time; BENCH_QUICK=1 sends 200);
(c) a broadcast to 100,000 recipients — enqueueing < 3 s and peak memory < 50 MB above idle
    (both the broadcast's INSERT … SELECT and `enqueue()` fed by a generator).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import insert, select

from bench.common import bench_app, rss_mb
from bot.delivery import DeliveryWorker
from bot.services import broadcasts as svc
from bot.services.delivery import OutgoingMessage, Recipient, enqueue
from db.base import utcnow
from db.models import Broadcast, User


async def add_people(app, n: int, start: int = 1_000_000) -> None:
    now = utcnow()
    async with app.sessionmaker() as s, s.begin():
        for first in range(0, n, 10_000):
            await s.execute(insert(User), [
                {"tg_id": start + i, "chat_id": start + i, "role": "student",
                 "status": "active", "locale": ("kk", "ru", "en")[i % 3],
                 "blocked_bot": False, "settings": {}, "channel": "telegram",
                 "created_at": now, "updated_at": now}
                for i in range(first, min(first + 10_000, n))])


async def queue_all(app, source_id: int) -> int:
    payloads = {loc: OutgoingMessage(text=f"Announcement {source_id} ({loc})")
                for loc in ("kk", "ru", "en")}
    async with app.sessionmaker() as s, s.begin():
        people = select(User.id, User.chat_id, User.locale)
        return await svc.enqueue_select(s, "bench", source_id, people, payloads)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def throughput(n: int = 10_000) -> None:
    app, _api, _ = await bench_app()
    try:
        await add_people(app, n)
        await queue_all(app, 1)
        worker = DeliveryWorker(app.channels, app.sessionmaker, rate=None)
        started, cpu = time.perf_counter(), time.process_time()
        done = await worker.drain()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"(a) rate limit lifted, {worker.concurrency} concurrent senders: {done:,} "
              f"deliveries in {elapsed:.2f} s = {done / elapsed:,.0f}/s (target ≥ 2,000/s); "
              f"CPU {cpu:.2f} s = {done / cpu:,.0f} deliveries per CPU-second")
    finally:
        await app.close()


async def sustained(n: int) -> None:
    app, api, _ = await bench_app()
    try:
        rate = app.settings.delivery_rate
        await add_people(app, n)
        await queue_all(app, 2)
        worker = DeliveryWorker(app.channels, app.sessionmaker, rate=rate)
        times: list[float] = []
        api.listeners.append(lambda call: times.append(time.monotonic()))
        done = await worker.drain()
        span = times[-1] - times[0]
        achieved = (len(times) - 1) / span
        print(f"(b) DELIVERY_RATE={rate:g}/s, {done} recipients: {span:.1f} s, sustained "
              f"{achieved:.2f}/s = {achieved / rate:.1%} of the limit; most in any 1-s window: "
              f"{max_in_window(times)} (limit {rate:g})")
    finally:
        await app.close()


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def big_enqueue(n: int = 100_000) -> None:
    app, _api, _ = await bench_app()
    try:
        await add_people(app, n)
        async with app.sessionmaker() as s, s.begin():
            staff = User(tg_id=1, chat_id=1, role="staff", status="active", locale="en")
            s.add(staff)
        # the broadcast path: INSERT … SELECT over the audience
        async with app.sessionmaker() as s:
            author = await s.get(User, staff.id)
            bc = await svc.create(s, author, content={"kind": "text", "text": "Hello"},
                                  audience="all", scope=svc.Scope(), ack="received",
                                  parent_id=None, locale="en", now=utcnow(), scheduled_at=None,
                                  limit=5, tz=app.settings.tz)
            await s.commit()
        from bot.notices.broadcasts import build_payloads

        idle = rss_mb()
        reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        async with app.sessionmaker() as s, s.begin():
            bc = await s.get(Broadcast, bc.id)
            payloads, followups = build_payloads(app.voice, bc)
            queued = await svc.start(s, bc, payloads, followups, utcnow())
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"(c) broadcast to {queued:,} recipients: enqueued in {elapsed:.2f} s "
              f"(CPU {cpu:.2f} s; target < 3 s); peak memory "
              f"+{max(peak_rss() - idle, 0):.1f} MB over idle (target < 50 MB)")

        # enqueue() with a generator of Recipient, as features without a select use it
        async with app.sessionmaker() as s:  # a second broadcast-sized batch on top
            rows = (await s.execute(select(User.id, User.chat_id))).all()
        pairs = [(r[0], r[1]) for r in rows]
        idle = rss_mb()
        reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        async with app.sessionmaker() as s, s.begin():
            queued = await enqueue(s, "bench", 3, (Recipient(u, c) for u, c in pairs),
                                   {"default": OutgoingMessage(text="Hello")})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"(c) enqueue() of {queued:,} recipients from a generator: {elapsed:.2f} s "
              f"(CPU {cpu:.2f} s; target < 3 s); "
              f"peak memory +{max(peak_rss() - idle, 0):.1f} MB over idle (target < 50 MB)")
    finally:
        await app.close()


async def main() -> None:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    await big_enqueue()
    await throughput()
    await sustained(200 if quick else 1000)


if __name__ == "__main__":
    import asyncio

    asyncio.run(main())
