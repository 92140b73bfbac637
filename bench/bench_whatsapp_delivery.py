"""A 10,000-recipient WhatsApp broadcast through the delivery queue, paced by WhatsApp's limiter.

The production worker and WhatsAppChannel (the 24-hour window looked up per send, a third of
the people outside it and sent the template), pywa's requests answered by the in-process fake
Cloud API, which stamps each message it accepts. The limiter is built here at
BENCH_WA_RATE (default 80/s, Meta's maximum and WHATSAPP_RATE's cap; higher rates show what
one process can reach). Prints the share of the rate
achieved and the most messages the fake saw in any one-second window (must not exceed it).
On the shared 2-core VM one process sends about 115 WhatsApp messages a second at most
(each goes through aiogram, the transport and pywa), so 10,000 take 90-130 s at any rate.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import insert, select

from bench.bench_delivery import max_in_window
from bench.common import bench_app
from bot.channels.whatsapp.session import PAIR_RATE_WAIT
from bot.channels.whatsapp.transport import build_whatsapp
from bot.delivery import DeliveryWorker
from bot.pacing import LocalRateLimiter, RealTimer
from bot.services.delivery import OutgoingMessage, enqueue_select
from db.base import utcnow
from db.models import Delivery, User, WaContact
from tests import fake_whatsapp as fw

RECIPIENTS = 10_000
RATE = float(os.environ.get("BENCH_WA_RATE", "80"))


async def add_whatsapp_people(app, n: int) -> None:
    """n WhatsApp contacts, registered; every third silent for 30 hours (a template)."""
    now = utcnow()
    async with app.sessionmaker() as s, s.begin():
        for first in range(0, n, 5_000):
            numbers = range(first + 1, min(first + 5_000, n) + 1)
            await s.execute(insert(WaContact), [
                {"id": i, "address": f"KZ.bench{i:012d}", "created_at": now,
                 "last_inbound_at": now - timedelta(hours=30 if i % 3 == 0 else 1)}
                for i in numbers])
            await s.execute(insert(User), [
                {"tg_id": -i, "chat_id": -i, "role": "student", "status": "active",
                 "locale": ("kk", "ru", "en")[i % 3], "blocked_bot": False, "settings": {},
                 "channel": "whatsapp", "created_at": now, "updated_at": now}
                for i in numbers])


async def main() -> None:
    app, _api, _ = await bench_app(
        whatsapp_token=fw.TOKEN, whatsapp_phone_number_id=fw.PHONE_ID,
        whatsapp_app_secret=fw.APP_SECRET, log_level="WARNING")
    api = fw.FakeCloudApi()
    whatsapp = build_whatsapp(app, transport=api.transport())
    try:
        await add_whatsapp_people(app, RECIPIENTS)
        payloads = {loc: OutgoingMessage(text=f"Announcement ({loc})\nThe forum is on Friday.")
                    for loc in ("kk", "ru", "en")}
        async with app.sessionmaker() as s, s.begin():
            queued = await enqueue_select(
                s, "broadcast", 1, select(User.id, User.chat_id, User.locale), payloads)
        worker = DeliveryWorker(app.channels, app.sessionmaker, rate=None, timer=RealTimer())
        worker.limiters["whatsapp"] = LocalRateLimiter(RATE, worker.timer,
                                                       per_chat=PAIR_RATE_WAIT)
        started = time.perf_counter()
        done = await worker.drain()
        elapsed = time.perf_counter() - started
        async with app.sessionmaker() as s:
            sent = await s.scalar(select(Delivery.id).where(Delivery.status != "sent").limit(1))
        times = sorted(m.at for m in api.sent)
        span = times[-1] - times[0] if len(times) > 1 else elapsed
        achieved = (len(times) - 1) / span if span > 0 else 0.0
        templates = sum(m.type == "template" for m in api.sent)
        print(f"WhatsApp broadcast, {queued:,} recipients ({templates:,} outside the window: "
              f"templates), 1 process, SQLite, in-process fake Cloud API")
        print(f"  configured {RATE:g}/s: achieved {achieved:,.1f}/s = "
              f"{achieved / RATE:.1%} of the rate; max in any 1 s window: "
              f"{max_in_window(times)} (limit {RATE:g}); {done:,} rows in {elapsed:.1f} s")
        print(f"  rows not sent: {'none' if sent is None else 'some'}; refused by the fake: "
              f"{len(api.refused)}")
        if max_in_window(times) > RATE:
            raise SystemExit("above the configured rate in some second")
    finally:
        await whatsapp.close()
        await app.close()
