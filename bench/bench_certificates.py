"""Certificates: 2,000 winner diplomas of one contest on SQLite — issuing the registry rows,
queueing them in paced batches (as the scheduler tick does) and sending them through the
delivery worker, which renders each PDF as it sends it; plus raw PDF rendering with a custom
background. Target: under 60 s on one core and under 300 MB of memory (the peak of the whole
process, start-up included; printed after each step to show where it comes from)."""

from __future__ import annotations

import io
import shutil
import time
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import func, insert, select

from bench.common import bench_app, peak_rss_mb, rss_mb
from bot.services import certificates as certs
from db.models import (
    Certificate,
    Challenge,
    ChallengeOption,
    Delivery,
    OutboxPayload,
    Submission,
    User,
)

PEOPLE = 2000
NAMES = ("Әлия Ғабитқызы Құрманова", "Данияр Серікұлы Өтебаев", "Ирина Сергеевна Ким",
         "Нұрсұлтан Һадиұлы Үсенов", "Айгерім Іңкәрқызы Жұмабаева")


def background() -> bytes:
    img = Image.new("RGB", (2339, 1654), (252, 248, 236))
    draw = ImageDraw.Draw(img)
    for i in range(0, 2339, 40):
        draw.line([(i, 0), (i + 400, 1654)], fill=(240, 230, 205), width=6)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


async def seed(app) -> int:
    now = app.now()
    async with app.sessionmaker() as s:
        ch = Challenge(kind="contest", status="judged", title_kk="Біздің Мектеп Парламенті",
                       title_ru="Наш Школьный парламент", description_kk="…",
                       starts_at=now - timedelta(days=30), deadline_at=now - timedelta(days=3),
                       audience={}, content_kinds=[])
        s.add(ch)
        await s.flush()
        options = [ChallengeOption(challenge_id=ch.id, kind=k, name_kk=f"{k} {i}",
                                   name_ru=f"{k} {i}") for k in ("nomination", "category")
                   for i in range(3)]
        s.add_all(options)
        await s.flush()
        await s.execute(insert(User), [
            {"tg_id": 10_000 + n, "chat_id": 10_000 + n, "role": "student", "status": "active",
             "locale": ("kk", "ru")[n % 2], "full_name": NAMES[n % len(NAMES)],
             "org_name": f"№ {n % 90 + 1} мектеп-гимназиясы", "settings": {},
             "created_at": now, "updated_at": now, "blocked_bot": False, "channel": "telegram"}
            for n in range(PEOPLE)])
        user_ids = (await s.scalars(select(User.id).order_by(User.id))).all()
        places = ("grand_prix", "1", "2", "3", "diploma")
        await s.execute(insert(Submission), [
            {"challenge_id": ch.id, "user_id": uid, "status": "approved", "content_kind": "text",
             "media": [], "place": places[n % 5], "submitted_at": now,
             "nomination_id": options[n % 3].id, "category_id": options[3 + n % 3].id}
            for n, uid in enumerate(user_ids)])
        await s.commit()
        return ch.id


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(mark: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - mark[0], time.process_time() - mark[1]


async def main() -> None:
    app, api, folder = await bench_app()
    try:
        challenge_id = await seed(app)
        base = rss_mb()
        tz = app.settings.tz
        username = (await app.bot.me()).username or ""
        # the local Bot API records every call with its file; Telegram keeps nothing: count
        # the PDFs it gets (their sizes) and forget the calls
        sent_pdfs: list[int] = []

        def received(call) -> None:
            if call.method == "sendDocument" and call.files.get("document", b"")[:5] == b"%PDF-":
                sent_pdfs.append(len(call.files["document"]))
            api.calls.clear()

        api.listeners.append(received)

        mark = clock()
        async with app.sessionmaker() as s:
            result = await certs.issue(s, certs.Source("challenge", challenge_id), None,
                                       app.now(), tz)
            await certs.set_background(s, "winner", background(), None)
            await s.commit()
        issue_wall, issue_cpu = since(mark)
        print(f"issue registry rows: {result.new} in {issue_wall:.2f} s "
              f"(cpu {issue_cpu:.2f} s); with a 2339×1654 background uploaded: rss "
              f"{rss_mb():.0f} MB, peak so far {peak_rss_mb():.0f} MB", flush=True)

        async with app.sessionmaker() as s:
            rows = (await s.scalars(select(Certificate).order_by(Certificate.id))).all()
            settings = await certs.get_settings(s, "winner")
        mark = clock()
        size = 0
        for cert in rows:
            size += len(certs.render(app.i18n, cert, settings, username, tz))
        wall, cpu = since(mark)
        print(f"render only: {len(rows)} PDFs in {wall:.1f} s (cpu {cpu:.1f} s, "
              f"{cpu / len(rows) * 1000:.1f} ms each), average {size / len(rows) / 1024:.0f} "
              f"KiB with a background picture; rss {rss_mb():.0f} MB, peak so far "
              f"{peak_rss_mb():.0f} MB", flush=True)
        del rows

        # each tick tops the queue up to what the worker sends in two ticks at DELIVERY_RATE
        target = certs.queue_target(app.settings.delivery_rate)
        mark = clock()
        queued = processed = rounds = 0
        while True:
            async with app.sessionmaker() as s:
                n = await certs.pump(s, app.i18n, username, tz, app.now(), target)
                await s.commit()
            queued += n
            processed += await app.delivery.drain()
            rounds += 1
            if not n:
                break
        pipe_wall, pipe_cpu = since(mark)
        async with app.sessionmaker() as s:
            waiting = await s.scalar(select(func.count()).select_from(Certificate)
                                     .where(Certificate.queued_at.is_(None)))
            statuses = dict((await s.execute(
                select(Delivery.status, func.count())
                .where(Delivery.source_type == certs.SOURCE_TYPE)
                .group_by(Delivery.status))).all())
            stored = await s.scalar(
                select(func.sum(func.length(OutboxPayload.body)))
                .join(Delivery, Delivery.payload_id == OutboxPayload.id)
                .where(Delivery.source_type == certs.SOURCE_TYPE))
        received = len(sent_pdfs)
        print(f"queue + render + send: {queued} queued ({target} at a time), {processed} "
              f"processed in {rounds} ticks, {pipe_wall:.1f} s (cpu {pipe_cpu:.1f} s, "
              f"{queued / pipe_wall:.0f}/s); not queued: {waiting}; deliveries by status "
              f"{statuses}, the Bot API got {received} PDFs "
              f"(average {sum(sent_pdfs) / max(received, 1) / 1024:.0f} KiB); queue payloads "
              f"{(stored or 0) / max(queued, 1):.0f} bytes per certificate", flush=True)
        print(f"TOTAL issue + render + queue + send {PEOPLE}: wall {issue_wall + pipe_wall:.1f} s"
              f", cpu {issue_cpu + pipe_cpu:.1f} s (target < 60 s on one core)", flush=True)
        print(f"memory: rss {rss_mb():.0f} MB (after seeding {base:.0f} MB), "
              f"peak {peak_rss_mb():.0f} MB (target < 300 MB)", flush=True)
    finally:
        await app.close()
        shutil.rmtree(folder, ignore_errors=True)
