"""Challenges: entries accepted end to end through the Dispatcher on SQLite by 1,000 users at
once (press Send my entry → a photo → Send without a comment; target ≥ 300 entries/s), and
the XLSX export of 10,000 entries (target < 5 s)."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram.types import Update
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import bench_app
from bot.polling import CONCURRENCY
from bot.services import challenges as svc
from db.models import Region, User
from db.models.challenges import Submission

USERS = 1000
ROUNDS = 3  # the VM's speed drifts by ±15 %: a median over rounds, each with new users
EXPORT_ROWS = 10_000
_ids = itertools.count(1)


async def seed(app: Any, users: int, first_tg: int = 500_000) -> tuple[int, list[int]]:
    now = app.now()
    async with app.sessionmaker() as s:
        region_id = await s.scalar(select(Region.id).limit(1))
        challenge = await svc.create_challenge(s, {
            "kind": "challenge", "title_kk": "Менің сыныбым – менің таңдауым!",
            "title_ru": "Мой класс – мой выбор!", "description_kk": "…",
            "audience": {}, "content_kinds": ["photo", "text"], "max_submissions": 50,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "deadline_at": (now + timedelta(days=7)).isoformat()}, None, now)
        challenge.status = "open"
        await s.execute(insert(User), [
            {"tg_id": first_tg + n, "chat_id": first_tg + n, "role": "student",
             "status": "active", "locale": ("kk", "ru")[n % 2], "full_name": f"Оқушы {n}",
             "org_name": f"№ {n % 90 + 1} мектеп", "org_type": "school",
             "region_id": region_id, "settings": {}, "created_at": now, "updated_at": now,
             "blocked_bot": False, "channel": "telegram"} for n in range(users)])
        await s.commit()
        return challenge.id, [first_tg + n for n in range(users)]


def _from(tg_id: int) -> dict[str, Any]:
    return {"id": tg_id, "is_bot": False, "first_name": "Bench"}


async def feed(app: Any, payload: dict[str, Any]) -> None:
    update = Update.model_validate({"update_id": next(_ids), **payload},
                                   context={"bot": app.bot})
    await app.dp.feed_update(app.bot, update)


async def press(app: Any, tg_id: int, data: str) -> None:
    await feed(app, {"callback_query": {
        "id": str(next(_ids)), "from": _from(tg_id), "chat_instance": "ci", "data": data,
        "message": {"message_id": 1, "date": 0, "text": "…",
                    "chat": {"id": tg_id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "Bot"}}}})


async def send_photo(app: Any, tg_id: int) -> None:
    await feed(app, {"message": {
        "message_id": next(_ids), "date": int(time.time()),
        "chat": {"id": tg_id, "type": "private"}, "from": _from(tg_id),
        "photo": [{"file_id": f"AgPhoto{tg_id}", "file_unique_id": f"u{tg_id}", "width": 1280,
                   "height": 960, "file_size": 250_000}], "caption": "9Б сыныбы"}})


async def help_update(app: Any, tg_id: int) -> None:
    await feed(app, {"message": {
        "message_id": next(_ids), "date": int(time.time()),
        "chat": {"id": tg_id, "type": "private"}, "from": _from(tg_id), "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}})


async def one_entry(app: Any, tg_id: int, challenge_id: int) -> None:
    await press(app, tg_id, f"ch:submit:{challenge_id}:")
    await send_photo(app, tg_id)
    await press(app, tg_id, f"ch:ok:{challenge_id}:")


def patient_pool(app: Any) -> AsyncEngine:
    """1,000 users at once queue for SQLite's one connection longer than the 60 s default
    pool timeout allows on a slow machine; the queue itself is what we measure. Otherwise the
    engine is the production one."""
    from db.engine import create_engine

    engine = create_engine(app.settings.database_url, pool_timeout=3600)
    app.sessionmaker.configure(bind=engine)
    return engine


async def bounded_round(app: Any, first_tg: int) -> float:
    """Entries/s for USERS new users, fed as the bot's runners feed updates."""
    challenge_id, users = await seed(app, USERS, first_tg=first_tg)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def bounded(tg_id: int) -> None:
        async with limit:  # as bot.polling and bot.webhook hand updates to the Dispatcher
            await one_entry(app, tg_id, challenge_id)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(tg_id) for tg_id in users))
    elapsed = time.perf_counter() - started
    async with app.sessionmaker() as s:
        stored = await s.scalar(select(func.count()).select_from(Submission).where(
            Submission.challenge_id == challenge_id)) or 0
    if stored != USERS:
        print(f"challenges: WARNING: expected {USERS} entries, stored {stored}")
    return stored / elapsed


async def bench_submissions() -> None:
    app, _api, _folder = await bench_app(flood_limit=100_000)
    engine = patient_pool(app)
    try:
        challenge_id, users = await seed(app, USERS)
        started = time.perf_counter()
        await asyncio.gather(*(help_update(app, tg_id) for tg_id in users))
        floor = USERS / (time.perf_counter() - started)
        print(f"challenges: baseline /help through the same Dispatcher: {floor:.0f} updates/s "
              f"(the ceiling for entries/s is about a third of it)")
        started = time.perf_counter()
        await asyncio.gather(*(one_entry(app, tg_id, challenge_id) for tg_id in users))
        elapsed = time.perf_counter() - started
        async with app.sessionmaker() as s:
            stored = await s.scalar(select(func.count()).select_from(Submission)) or 0
        print(f"challenges: all 1,000 users' updates in flight at once (unbounded, as no "
              f"runner of ours feeds them): {stored / elapsed:.0f} entries/s")
        rates = [await bounded_round(app, first_tg=600_000 + n * 10_000) for n in range(ROUNDS)]
        print(f"challenges: {USERS} entries from {USERS} concurrent users, {CONCURRENCY} "
              f"updates handled at a time like the bot's runners, end to end (3 updates each), "
              f"{ROUNDS} rounds: {', '.join(f'{r:.0f}' for r in rates)} entries/s; median "
              f"{statistics.median(rates):.0f} (target ≥ 300/s)")
    finally:
        await engine.dispose()
        await app.close()


async def bench_export() -> None:
    app, _api, _folder = await bench_app()
    try:
        challenge_id, users = await seed(app, 2000)
        now = datetime.now(UTC)
        async with app.sessionmaker() as s:
            ids = (await s.scalars(select(User.id).where(User.tg_id.in_(users)))).all()
            await s.execute(insert(Submission), [
                {"challenge_id": challenge_id, "user_id": ids[n % len(ids)],
                 "status": ("pending", "approved", "rejected")[n % 3], "content_kind": "photo",
                 "media": [{"type": "photo", "file_id": f"AgPhotoFileId{n:08d}",
                            "file_unique_id": f"u{n}", "size": 250_000, "caption": None}],
                 "comment": "Біздің сынып", "submitted_at": now, "region_id": 1,
                 "place": "1" if n % 50 == 0 else None} for n in range(EXPORT_ROWS)])
            await s.commit()
        started = time.perf_counter()
        async with app.sessionmaker() as s:
            rows = await svc.export_rows(s, challenge_id, "kk", app.places, app.settings.tz)
        data = svc.build_xlsx(list(svc.EXPORT_HEADERS), rows)
        elapsed = time.perf_counter() - started
        print(f"challenges: export of {len(rows)} entries to XLSX ({len(data) / 1e6:.1f} MB) "
              f"in {elapsed:.2f} s (target < 5 s)")
    finally:
        await app.close()


async def main() -> None:
    await bench_submissions()
    await bench_export()


if __name__ == "__main__":
    asyncio.run(main())



