"""WhatsApp webhook updates per second in one process, next to Telegram's on the same run.

One bot process (this one), SQLite, the real Dispatcher: Telegram's webhook route answered
by the in-process Bot API, WhatsApp's route (signature check, contact, the update, the reply
rendered and sent through pywa) answered by the in-process fake Cloud API. Every update is a
/start from a new person (user lookup, FSM, processed_updates, the language buttons sent),
posted from CLIENTS concurrent loopback connections. Run alone: `python -m bench whatsapp`.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

SECRET = "bench-secret-of-thirty-two-characters"
UPDATES = 600
WARM_UP = 100
CLIENTS = 32


def telegram_start(n: int) -> tuple[bytes, dict[str, str]]:
    tg_id = 2_000_000 + n
    body = {"update_id": n, "message": {
        "message_id": n, "date": 1767000000, "text": "/start",
        "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
    return json.dumps(body).encode(), {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def whatsapp_start(n: int) -> tuple[bytes, dict[str, str]]:
    from tests import fake_whatsapp as fw

    body = json.dumps(fw.webhook(f"KZ.bench{n:012d}", fw.text("/start"), "Bench",
                                 wamid=f"wamid.bench{n}")).encode()
    return body, {"X-Hub-Signature-256": fw.signature(body)}


async def post_all(url: str, make: Callable[[int], tuple[bytes, dict[str, str]]],
                   first: int, count: int) -> float:
    numbers = iter(range(first, first + count))
    failures = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for n in numbers:
            body, headers = make(n)
            async with session.post(url, data=body, headers={
                    "Content-Type": "application/json", **headers}) as answer:
                failures += answer.status != 200

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    if failures:
        print(f"  ! {failures} requests failed")
    return count / elapsed


async def main() -> None:
    from bot.channels.whatsapp.transport import add_routes, build_whatsapp
    from bot.config import Settings
    from bot.factory import build_app, prepare
    from bot.local_api import LocalSession
    from bot.webhook import build_web_app
    from db.migrate import upgrade_async
    from handlers import setup_routers
    from tests import fake_whatsapp as fw

    folder = Path(tempfile.mkdtemp(prefix="bench-wa-"))
    db_url = f"sqlite+inline:///{folder / 'bot.db'}"
    await upgrade_async(db_url)
    settings = Settings(_env_file=None, database_url=db_url, webhook_secret=SECRET,
                        webhook_url="https://bench.invalid/tg", log_level="WARNING",
                        flood_limit=100_000, whatsapp_token=fw.TOKEN,
                        whatsapp_phone_number_id=fw.PHONE_ID, whatsapp_app_secret=fw.APP_SECRET)
    api = fw.FakeCloudApi()
    app = build_app(settings, routers=setup_routers, session=LocalSession())
    await prepare(app)
    whatsapp = build_whatsapp(app, transport=api.transport())
    web_app: web.Application = build_web_app(app)
    add_routes(web_app, whatsapp)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    routes: dict[str, Any] = {
        "telegram": (f"http://127.0.0.1:{port}/tg", telegram_start),
        "whatsapp": (f"http://127.0.0.1:{port}/whatsapp", whatsapp_start)}
    try:
        for name, (url, make) in routes.items():
            await post_all(url, make, 1, WARM_UP)
            rate = await post_all(url, make, 1 + WARM_UP, UPDATES)
            print(f"{name} webhook, 1 process, SQLite: {rate:,.0f} updates/s "
                  f"({UPDATES} × /start from new people, {CLIENTS} connections)")
        sent = sum(1 for s in api.sent if s.type == "buttons")
        print(f"WhatsApp language buttons recorded by the fake: {sent} "
              f"(expected {WARM_UP + UPDATES}); refused: {len(api.refused)}")
    finally:
        await runner.cleanup()
        await whatsapp.close()
        await app.close()
