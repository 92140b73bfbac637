"""Foundation: updates/s through the Dispatcher for /help (a read) and a language switch
(a write), 1,000 distinct registered users on SQLite; idle memory."""

from __future__ import annotations

import asyncio
import itertools
import time

from aiogram.types import Update

from bench.common import bench_app, rss_mb
from bot.callbacks import LangCD
from db.base import utcnow
from db.models import User

USERS = 1000
UPDATES = 5000
ids = itertools.count(1)


def message(tg_id: int, text: str) -> dict:
    return {"update_id": next(ids), "message": {
        "message_id": next(ids), "date": 0, "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": "U"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}


def press(tg_id: int, data: str) -> dict:
    return {"update_id": next(ids), "callback_query": {
        "id": str(next(ids)), "chat_instance": "c", "data": data,
        "from": {"id": tg_id, "is_bot": False, "first_name": "U"},
        "message": {"message_id": 1, "date": 0, "text": "x",
                    "chat": {"id": tg_id, "type": "private"}}}}


async def rate(app, payloads: list[dict], concurrency: int = 50) -> float:
    updates = [Update.model_validate(p, context={"bot": app.bot}) for p in payloads]
    queue = iter(updates)

    async def worker() -> None:
        for update in queue:
            await app.dp.feed_update(app.bot, update)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(updates) / (time.perf_counter() - started)


async def main() -> None:
    app, api, _ = await bench_app()
    async with app.sessionmaker() as s, s.begin():
        s.add_all([User(tg_id=10_000 + i, chat_id=10_000 + i, role="student", status="active",
                        locale="en", region_id=1 + i % 20, consent_at=utcnow(),
                        consent_version="b") for i in range(USERS)])
    print(f"idle process after start-up: {rss_mb():.0f} MB RSS")
    await rate(app, [message(10_000 + i % USERS, "/help") for i in range(500)])  # warm-up
    help_rate = await rate(app, [message(10_000 + i % USERS, "/help") for i in range(UPDATES)])
    print(f"(a) /help, {USERS} users: {help_rate:,.0f} updates/s (target >= 1,000)")
    langs = ["ru", "en", "kk"]
    writes = [press(10_000 + i % USERS, LangCD(code=langs[i % 3]).pack()) for i in range(UPDATES)]
    write_rate = await rate(app, writes)
    print(f"(b) language switch (a user write), {USERS} users: {write_rate:,.0f} updates/s "
          f"(target >= 400)")
    print(f"Bot API calls recorded: {len(api.calls):,}; memory now {rss_mb():.0f} MB RSS")
    await app.close()
