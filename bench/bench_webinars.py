"""Webinars: a reminder for a webinar with 3,200 registrants in three languages, from the
scheduler tick to every delivery row queued (target: under 1 s); then a second, overlapping
tick that must queue nothing."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bench.common import bench_app, peak_rss_mb
from bot.notices.webinars import webinar_reminders_tick
from bot.services import webinars as svc
from db.models import Delivery, User, WebinarRegistration

REGISTRANTS = 3200
START = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


async def main() -> None:
    app, _api, folder = await bench_app()
    clock = {"now": datetime(2026, 3, 2, 6, 0, tzinfo=UTC)}
    app.clock = lambda: clock["now"]
    try:
        async with app.sessionmaker() as s:
            region_id = app.places.regions[0].id
            await s.execute(insert(User), [
                {"tg_id": 10_000 + i, "chat_id": 10_000 + i, "role": "student",
                 "status": "active", "locale": ("kk", "ru", "en")[i % 3],
                 "full_name": f"Participant {i}", "region_id": region_id,
                 "org_type": "school", "settings": {}, "created_at": app.now(),
                 "updated_at": app.now()}
                for i in range(REGISTRANTS)])
            webinar = await svc.create_webinar(s, {
                "title_kk": "Вице-министрмен кездесу", "title_ru": "Встреча с вице-министром",
                "description_kk": "Мектеп парламенттерінің президенттеріне",
                "description_ru": "Для президентов школьных парламентов",
                "starts_at": START.isoformat(), "duration_min": 90,
                "join_url": "https://zoom.us/j/987654321", "speakers": ["A", "B"],
                "audience": {}, "capacity": None,
                "reminder_offsets": list(svc.DEFAULT_OFFSETS)}, None, app.now())
            user_ids = (await s.scalars(select(User.id).where(User.tg_id >= 10_000))).all()
            await s.execute(insert(WebinarRegistration), [
                {"webinar_id": webinar.id, "user_id": uid, "status": "registered",
                 "registered_at": app.now()} for uid in user_ids])
            await s.commit()

        timings = []
        for label, due in (("24 hours before", START - timedelta(hours=24)),
                           ("1 hour before", START - timedelta(hours=1))):
            clock["now"] = due
            started = time.perf_counter()
            queued = await webinar_reminders_tick(app)
            elapsed = time.perf_counter() - started
            timings.append(elapsed)
            print(f"reminder {label}: tick → {queued} rows queued in {elapsed:.3f} s "
                  f"(target < 1 s)")
        started = time.perf_counter()
        again = await webinar_reminders_tick(app)
        repeat_ms = (time.perf_counter() - started) * 1000
        print(f"repeat tick (nothing due, dedup-safe): {repeat_ms:.1f} ms, queued {again}")
        async with app.sessionmaker() as s:
            rows = await s.scalar(select(func.count()).select_from(Delivery)) or 0
        print(f"registrants: {REGISTRANTS} (kk/ru/en); delivery rows: {rows}; "
              f"best {min(timings):.3f} s, worst {max(timings):.3f} s; "
              f"peak RSS {peak_rss_mb():.0f} MB")
    finally:
        await app.close()
        shutil.rmtree(folder, ignore_errors=True)
