"""H1, nobody stalls anybody: 100 people press buttons and type while one person sends
/leaderboard back to back, over 100,000 users and 1,000,000 activity rows on SQLite.

Updates go the production ways: long polling (`bot.polling.poll`) against a fake getUpdates
queue, and as a webhook would hand them over (each at once, in order per person:
`bot.webhook`'s own handling); the real Dispatcher, replies recorded by the in-process Bot
API. Each of the others
presses the language button, sends /help or /challenges, waits for the answer, thinks
0.5-1.5 s and goes again. Latency is from the update's arrival at "Telegram" to the bot's
first call to that chat. Three runs per way on one seeded database, each with a fresh bot
process state: nobody heavy; a student sending /leaderboard (students get the kept
rankings); staff sending /leaderboard for three years (never kept: every call is a count).

Run alone: `python -m bench stall` (BENCH_STALL_USERS / _EVENTS / _SECONDS to scale down,
BENCH_STALL_MODES=polling or webhook for one way only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from itertools import count
from typing import Any

from aiogram.types import Update
from sqlalchemy import select

from bench.common import bench_app
from bot.app import App
from bot.callbacks import LangCD
from bot.config import Settings
from bot.factory import build_app, prepare
from bot.local_api import ApiCall, LocalSession
from bot.polling import poll
from bot.services.demo import seed_demo
from bot.webhook import _handle as webhook_handle
from bot.webhook import _SenderLocks
from db.models import User
from handlers import setup_routers

USERS = int(os.environ.get("BENCH_STALL_USERS", "100000"))
EVENTS = int(os.environ.get("BENCH_STALL_EVENTS", "1000000"))
SECONDS = float(os.environ.get("BENCH_STALL_SECONDS", "30"))
MODES = os.environ.get("BENCH_STALL_MODES", "polling,webhook").split(",")
OTHERS = 100
WARM_UP = 3.0
TARGET_P99 = 1.0
UPDATE_IDS = count(1)  # across runs: processed_updates remembers the ids of the run before


class Telegram:
    """getUpdates with Telegram's semantics: from `offset` on, at most `limit`; waits up to
    `timeout` for something to arrive when nothing is pending."""

    def __init__(self, app: App, webhook: bool) -> None:
        self.app = app
        self.pending: deque[Update] = deque()
        self.arrived = asyncio.Event()
        self.webhook = _SenderLocks() if webhook else None
        self.handling: set[asyncio.Task[None]] = set()

    def push(self, payload: dict[str, Any]) -> None:
        update = Update.model_validate({"update_id": next(UPDATE_IDS), **payload},
                                       context={"bot": self.app.bot})
        if self.webhook is not None:  # handed over at once, as a webhook request would
            task = asyncio.create_task(webhook_handle(self.app, update, self.webhook))
            self.handling.add(task)
            task.add_done_callback(self.handling.discard)
            return
        self.pending.append(update)
        self.arrived.set()

    async def get_updates(self, offset: int | None = None, timeout: int = 0, limit: int = 100,
                          **_kwargs: Any) -> list[Update]:
        while offset is not None and self.pending and self.pending[0].update_id < offset:
            self.pending.popleft()
        if not self.pending and timeout:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout)
        return list(self.pending)[:limit]


def message(tg_id: int, text: str) -> dict[str, Any]:
    return {"message": {
        "message_id": 1, "date": 0, "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": "U"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}}


def press(tg_id: int, data: str) -> dict[str, Any]:
    return {"callback_query": {
        "id": f"{tg_id}-{time.monotonic_ns()}", "chat_instance": "c", "data": data,
        "from": {"id": tg_id, "is_bot": False, "first_name": "U"},
        "message": {"message_id": 1, "date": 0, "text": "x",
                    "chat": {"id": tg_id, "type": "private"}}}}


class Replies:
    """The first Bot API call to a chat after it was asked for, per chat."""

    def __init__(self, api: LocalSession) -> None:
        self.waiting: dict[int, asyncio.Future[ApiCall]] = {}
        api.listeners.append(self._seen)

    def _seen(self, call: ApiCall) -> None:
        future = self.waiting.pop(call.chat_id, None) if call.chat_id is not None else None
        if future is not None and not future.done():
            future.set_result(call)

    def expect(self, chat_id: int) -> asyncio.Future[ApiCall]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future


class TimeoutCounter(logging.Handler):
    """Pool time-outs and handler time-outs, as the bot logs them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if "timed out" in text or "QueuePool limit" in text or (
                exc is not None and "QueuePool limit" in str(exc)):
            self.count += 1


async def ask(telegram: Telegram, replies: Replies, tg_id: int, payload: dict[str, Any],
              patience: float = 300) -> float | None:
    """Seconds to the first answer; None if none came within `patience`."""
    answered = replies.expect(tg_id)
    started = time.perf_counter()
    telegram.push(payload)
    try:
        await asyncio.wait_for(answered, patience)
    except TimeoutError:
        return None
    return time.perf_counter() - started


async def person(telegram: Telegram, replies: Replies, tg_id: int, rng: random.Random,
                 until: float, measure_from: float, latencies: list[float]) -> None:
    actions: list[Callable[[], dict[str, Any]]] = [
        lambda: press(tg_id, LangCD(code=rng.choice(("kk", "ru", "en"))).pack()),
        lambda: message(tg_id, "/help"),
        lambda: message(tg_id, "/challenges"),
    ]
    await asyncio.sleep(rng.uniform(0, 1))
    while time.perf_counter() < until:
        asked_at = time.perf_counter()
        took = await ask(telegram, replies, tg_id, rng.choice(actions)())
        if took is None:
            raise RuntimeError(f"{tg_id} got no answer in 300 s")
        if asked_at >= measure_from:
            latencies.append(took)
        await asyncio.sleep(rng.uniform(0.5, 1.5))


async def heavy(telegram: Telegram, replies: Replies, tg_id: int, text: str, until: float,
                took: list[float], ignored: list[int]) -> None:
    """Sends again as soon as the answer is in. Flood control drops messages past 20 in
    10 s without a word (after one notice): those are counted, and sent again 10 s on."""
    while time.perf_counter() < until:
        seconds = await ask(telegram, replies, tg_id, message(tg_id, text), patience=10)
        if seconds is None:
            ignored.append(1)
        else:
            took.append(seconds)


async def scenario(app: App, api: LocalSession, others: list[int],
                   heavy_user: tuple[int, str] | None, mode: str) -> dict[str, Any]:
    telegram = Telegram(app, webhook=mode == "webhook")
    app.bot.get_updates = telegram.get_updates  # type: ignore[method-assign]
    replies = Replies(api)
    counter = TimeoutCounter()
    logging.getLogger().addHandler(counter)
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(app, stop) if mode == "polling" else stop.wait())
    rng = random.Random(7)
    started = time.perf_counter()
    measure_from, until = started + WARM_UP, started + WARM_UP + SECONDS
    latencies: list[float] = []
    heavy_took: list[float] = []
    ignored: list[int] = []
    tasks = [person(telegram, replies, tg_id, rng, until, measure_from, latencies)
             for tg_id in others]
    if heavy_user is not None:
        tasks.append(heavy(telegram, replies, heavy_user[0], heavy_user[1], until, heavy_took,
                           ignored))
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        telegram.arrived.set()
        await polling
        await asyncio.gather(*telegram.handling)
        logging.getLogger().removeHandler(counter)
    latencies.sort()
    return {"n": len(latencies), "p50": statistics.median(latencies),
            "p99": latencies[int(len(latencies) * 0.99) - 1], "max": latencies[-1],
            "timeouts": counter.count, "heavy_calls": len(heavy_took),
            "heavy_median": statistics.median(heavy_took) if heavy_took else None,
            "heavy_dropped": len(ignored)}


def report(label: str, r: dict[str, Any]) -> None:
    heavy = (f"; heavy user: {r['heavy_calls']} answers, median {r['heavy_median']:.2f} s, "
             f"{r['heavy_dropped']} dropped by flood control" if r["heavy_calls"] else "")
    verdict = "ok" if r["p99"] < TARGET_P99 and not r["timeouts"] else "MISSED"
    print(f"{label}: {r['n']} answers to the others, p50 {r['p50'] * 1000:.0f} ms, "
          f"p99 {r['p99'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms, pool/handler "
          f"time-outs {r['timeouts']}{heavy}  [p99 < {TARGET_P99:.0f} s, 0 time-outs: "
          f"{verdict}]", flush=True)


async def pick_people(app: App) -> tuple[list[int], int, int]:
    """100 active students with a school (the others), one more (the heavy student),
    and a staff member."""
    async with app.sessionmaker() as s:
        students = list(await s.scalars(
            select(User.tg_id).where(User.role == "student", User.status == "active",
                                     User.org_name.is_not(None), User.district_id.is_not(None),
                                     User.blocked_bot.is_(False))
            .order_by(User.id).limit(OTHERS + 1)))
        staff = await s.scalar(select(User.tg_id).where(User.role == "staff")
                               .order_by(User.id).limit(1))
    return students[:OTHERS], students[OTHERS], staff


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    app, api, folder = await bench_app()
    started = time.perf_counter()
    seeded = await seed_demo(app.sessionmaker, USERS, EVENTS, seed=42, now=app.now())
    print(f"seeded {seeded['users']:,} users, {seeded['events']:,} events in "
          f"{time.perf_counter() - started:.0f} s; {OTHERS} others for {SECONDS:.0f} s each run")
    others, student, staff = await pick_people(app)
    url = app.settings.database_url
    runs = [("without a heavy user", None),
            ("a student sending /leaderboard back to back", (student, "/leaderboard")),
            ("staff sending /leaderboard 2024-01-01 2026-12-31 back to back",
             (staff, "/leaderboard 2024-01-01 2026-12-31"))]
    try:
        for mode in MODES:
            for label, heavy_user in runs:
                await app.close()  # each run starts as a fresh bot process would (no caches)
                api = LocalSession()
                app = build_app(Settings(database_url=url, _env_file=None),
                                routers=setup_routers, session=api)
                await prepare(app)
                report(f"{mode}, {label}", await scenario(app, api, others, heavy_user, mode))
    finally:
        await app.close()
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)
