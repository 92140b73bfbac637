"""Webhook and queue on PostgreSQL: updates per second through the webhook endpoint with one
and with two bot processes (an aiohttp client on loopback, every update a /start from a new
person: user lookup, FSM, the processed_updates row), and delivery queue throughput
(enqueue, then one worker draining against the in-process Bot API with no pacing).

PostgreSQL comes from BENCH_POSTGRES_URL or TEST_POSTGRES_URL (default: the local `test`
server); a throw-away database is created and dropped. Run alone: `python -m bench webhook`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from typing import Any

import aiohttp

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-of-thirty-two-characters"
UPDATES = 1000
CLIENTS = 32
QUEUE_ROWS = 5000


def pg_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") \
        or DEFAULT_PG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_update(update_id: int) -> dict[str, Any]:
    tg_id = 1_000_000 + update_id
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1767000000, "text": "/start",
        "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


# --- a bot process serving the webhook (a subprocess, so two really run in parallel) -----
async def serve(db_url: str, port: int) -> None:
    from aiohttp import web

    from bot.config import Settings
    from bot.factory import build_app, prepare
    from bot.local_api import LocalSession
    from bot.webhook import build_web_app
    from handlers import setup_routers

    settings = Settings(_env_file=None, database_url=db_url, webhook_secret=SECRET,
                        webhook_url="https://bench.invalid/tg", log_level="WARNING")
    app = build_app(settings, routers=setup_routers, session=LocalSession())
    await prepare(app)
    runner = web.AppRunner(build_web_app(app), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await app.close()


async def start_servers(db_url: str, count: int) -> tuple[list[Any], list[int]]:
    procs, ports = [], []
    for _ in range(count):
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_webhook", "serve", db_url, str(port),
            stdout=asyncio.subprocess.PIPE)
        line = await asyncio.wait_for(proc.stdout.readline(), 60)  # type: ignore[union-attr]
        if line.strip() != b"ready":
            raise RuntimeError(f"bot process did not start: {line!r}")
        procs.append(proc)
        ports.append(port)
    return procs, ports


async def stop_servers(procs: list[Any]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        await proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (load on the machine does not change it)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def post_updates(ports: list[int], first_id: int, count: int) -> float:
    """Send `count` updates from CLIENTS concurrent connections; returns updates/s."""
    ids = iter(range(first_id, first_id + count))
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    failures = 0

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal failures
        url = f"http://127.0.0.1:{ports[n % len(ports)]}/tg"
        for update_id in ids:
            async with session.post(url, json=start_update(update_id), headers=headers) as r:
                failures += r.status != 200

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, session) for n in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    if failures:
        print(f"  ! {failures} requests failed")
    return count / elapsed


async def bench_webhook(db_url: str) -> None:
    next_id = 1
    for processes in (1, 2):
        procs, ports = await start_servers(db_url, processes)
        try:
            await post_updates(ports, next_id, 200)  # warm-up: connections, caches
            next_id += 200
            cpu_before = sum(cpu_seconds(p.pid) for p in procs)
            rate = await post_updates(ports, next_id, UPDATES)
            cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
            next_id += UPDATES
        finally:
            await stop_servers(procs)
        print(f"webhook, {processes} process(es): {rate:,.0f} updates/s "
              f"({UPDATES} × /start, {CLIENTS} connections); bot CPU "
              f"{cpu / UPDATES * 1000:.1f} ms per update")


async def bench_queue(db_url: str) -> None:
    from aiogram import Bot
    from sqlalchemy import insert, select

    from bot.channels.telegram import TelegramChannel
    from bot.delivery import DeliveryWorker
    from bot.local_api import LocalSession
    from bot.services.delivery import OutgoingMessage, Recipient, enqueue
    from db.engine import create_engine, create_sessionmaker
    from db.models import User

    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        for concurrency in (4, 16):
            async with sessionmaker() as s:
                await s.execute(insert(User), [
                    {"tg_id": 5_000_000 + concurrency * QUEUE_ROWS + n,
                     "chat_id": 5_000_000 + concurrency * QUEUE_ROWS + n, "role": "student",
                     "status": "active", "locale": "kk", "settings": {}}
                    for n in range(QUEUE_ROWS)])
                await s.commit()
                ids = (await s.scalars(select(User.id).where(
                    User.tg_id >= 5_000_000 + concurrency * QUEUE_ROWS))).all()
                started = time.perf_counter()
                await enqueue(s, "broadcast", concurrency,
                              [Recipient(uid, uid) for uid in ids],
                              {"default": OutgoingMessage(text="Сәлем!")})
                await s.commit()
                enqueue_rate = len(ids) / (time.perf_counter() - started)
            bot = Bot("42:bench-token-local-only-xxxxxxxx", session=LocalSession())
            worker = DeliveryWorker({"telegram": TelegramChannel(bot)}, sessionmaker,
                                    rate=None, concurrency=concurrency)
            started = time.perf_counter()
            sent = await worker.drain()
            drain_rate = sent / (time.perf_counter() - started)
            print(f"queue: enqueue {enqueue_rate:,.0f} rows/s; one worker, concurrency "
                  f"{concurrency}, no pacing: {drain_rate:,.0f} deliveries/s ({sent} rows)")
    finally:
        await engine.dispose()


async def main() -> None:
    from tests.pg import create_database, drop_database

    server = pg_url()
    name = f"bench_{secrets.token_hex(4)}"
    try:
        db_url = await create_database(server, name, durable=True)
    except (OSError, Exception) as exc:
        print(f"skipped: PostgreSQL at {server} unreachable ({type(exc).__name__})")
        return
    try:
        from db.migrate import upgrade_async

        await upgrade_async(db_url)
        print(f"PostgreSQL, synchronous_commit on (production default); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        await bench_webhook(db_url)
        await bench_queue(db_url)
    finally:
        await drop_database(server, name)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        import logging

        logging.basicConfig(level=logging.WARNING)
        asyncio.run(serve(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(main())
