"""Running the bot for real: migrations, one-instance lock, scheduler, delivery, polling."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import signal
from pathlib import Path
from typing import IO

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from bot.app import App, RouterBuilder
from bot.channels.whatsapp.server import whatsapp_of
from bot.channels.whatsapp.transport import WhatsApp
from bot.channels.whatsapp.transport import add_routes as add_whatsapp_routes
from bot.config import Settings
from bot.factory import build_app
from bot.polling import poll, replay_parked
from bot.scheduler import run_all_ticks, start_scheduler
from bot.web.verify import add_verify_page
from db.base import utcnow
from db.engine import is_sqlite
from db.migrate import upgrade_async
from db.models import ParkedUpdate, ProcessedUpdate

logger = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    pass


def acquire_instance_lock(settings: Settings) -> IO[str] | None:
    """SQLite allows one bot process: a second would poll and send reminders twice."""
    if not is_sqlite(settings.database_url):
        return None
    db = make_url(settings.database_url).database or "memory"
    path = Path(f"{db}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise AlreadyRunning(
            f"another bot process is already running on {db}; stop it first") from None
    return handle


async def prune_processed_updates(app: App) -> None:
    """Telegram keeps unconfirmed updates for 24 hours; older ids cannot come back.

    Parked updates (bot.polling) hold what people typed: one already handled whose row was
    not cleared (the database did not answer then) goes now, and one parked two days ago
    that no start replayed (the bot moved to webhooks) will not be handled any more."""
    from datetime import timedelta

    old = utcnow() - timedelta(days=2)
    async with app.sessionmaker() as session, session.begin():
        await session.execute(delete(ParkedUpdate).where(
            ParkedUpdate.update_id.in_(select(ProcessedUpdate.update_id))
            | (ParkedUpdate.parked_at < old)))
        await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < old))


async def start_background(app: App) -> asyncio.Task[None]:
    if is_sqlite(app.settings.database_url):
        orphans = await app.delivery.requeue_orphans()
        if orphans:
            logger.warning("%d messages were being sent when the bot stopped; sending again",
                           orphans)
    await run_all_ticks(app)  # catch up with whatever fell due while we were down
    start_scheduler(app)
    return asyncio.create_task(app.delivery.run(), name="delivery")


async def stop_background(app: App, worker: asyncio.Task[None]) -> None:
    app.delivery.stop()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(worker, timeout=15)
    await app.close()


async def serve_verify_page(app: App, whatsapp: WhatsApp | None = None) -> web.AppRunner | None:
    """Polling mode has no webhook server: the verification page (with PUBLIC_BASE_URL) and
    WhatsApp's webhook (when it is on) share one of their own on WEBHOOK_HOST:WEBHOOK_PORT
    (behind the reverse proxy). None when neither is wanted."""
    if not app.settings.public_base_url and whatsapp is None:
        return None
    web_app = web.Application()
    if app.settings.public_base_url:
        add_verify_page(web_app, app)
    if whatsapp is not None:
        add_whatsapp_routes(web_app, whatsapp)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, app.settings.webhook_host, app.settings.webhook_port).start()
    logger.info("web server for %s on %s:%s",
                " and ".join(name for name, on in (("/v/<number>", app.settings.public_base_url),
                                                    ("/whatsapp", whatsapp)) if on),
                app.settings.webhook_host, app.settings.webhook_port)
    return runner


async def run_polling(settings: Settings, *, routers: RouterBuilder) -> None:
    """Telegram by long polling, and/or WhatsApp's webhook (bot/channels/whatsapp/server.py);
    with WhatsApp alone (no BOT_TOKEN) nothing is polled."""
    await upgrade_async(settings.database_url)
    lock = acquire_instance_lock(settings)
    app = build_app(settings, routers=routers)
    whatsapp = whatsapp_of(app)
    telegram = settings.token is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if telegram:
        await app.bot.delete_webhook(drop_pending_updates=False)
    await app.dp.emit_startup(bot=app.bot, **app.dp.workflow_data)
    app.scheduler.add_job(prune_processed_updates, "interval", hours=6, args=[app],
                          id="prune_processed_updates")
    worker = await start_background(app)
    page = await serve_verify_page(app, whatsapp)
    try:
        if telegram:
            me = await app.bot.me()
            logger.info("polling as @%s", me.username)
            await replay_parked(app)
            await poll(app, stop)
        else:
            await stop.wait()
    finally:
        logger.info("shutting down")
        if page is not None:
            await page.cleanup()
        await app.dp.emit_shutdown(bot=app.bot, **app.dp.workflow_data)
        await stop_background(app, worker)
        if whatsapp is not None:
            await whatsapp.close()
        if lock:
            lock.close()
