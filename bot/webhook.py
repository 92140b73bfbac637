"""Webhook mode: an aiohttp server that takes updates from Telegram, plus /healthz and /metrics.

Every request must carry X-Telegram-Bot-Api-Secret-Token equal to WEBHOOK_SECRET (else 401,
nothing processed). An update id already in `processed_updates` is acknowledged and skipped:
the id is recorded by DbSessionMiddleware in the handler's own transaction
(`guard_update=True`), so a redelivered update, even to another instance, is handled once.
An update being handled right now (here, or with Redis anywhere) is answered 503, so Telegram
tries again later (bot/inflight.py). Several instances may run behind one reverse proxy;
they share PostgreSQL (and Redis).

/healthz and /metrics hold no personal data (counters, and "ok"/"error" per component). With
METRICS_TOKEN they answer only `Authorization: Bearer <token>`; with METRICS_PORT they are
served on METRICS_HOST:METRICS_PORT instead of the webhook's port.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

from aiogram.types import Update
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from sqlalchemy import text

from bot.app import App, RouterBuilder
from bot.channels.whatsapp.server import whatsapp_of
from bot.channels.whatsapp.transport import WhatsApp
from bot.channels.whatsapp.transport import add_routes as add_whatsapp_routes
from bot.config import ConfigError, Settings
from bot.factory import build_app
from bot.inflight import InFlight
from bot.logs import exception_text
from bot.metrics import ROUTE_KEY, Metrics, handler_group, hook_dispatcher
from bot.polling import already_processed, sender_key
from bot.web.verify import add_verify_page
from db.migrate import upgrade_async

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
APP_KEY: web.AppKey[App] = web.AppKey("bot_app", App)
INFLIGHT_KEY: web.AppKey[InFlight] = web.AppKey("inflight", InFlight)
REDIS_KEY: web.AppKey[Any] = web.AppKey("redis", object)
HEALTH_TIMEOUT = 3.0


def metrics_of(app: App) -> Metrics:
    """The app's Metrics; the first call also hooks them into the dispatcher (errors, which
    router handled an update) and the delivery worker (outcomes, send times, 429s)."""
    if app.metrics is None:
        app.metrics = Metrics()
        app.metrics.start_at_zero(sorted(app.channels))
        hook_dispatcher(app.dp, app.metrics)
        app.delivery.observer = app.metrics
    return app.metrics


class _SenderLocks:
    """One person's updates are handled in order within a process (FSM steps)."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


LOCKS_KEY: web.AppKey[_SenderLocks] = web.AppKey("sender_locks", _SenderLocks)


def secret_ok(settings: Settings, given: str | None) -> bool:
    if settings.webhook_secret is None or not given:
        return False
    expected = settings.webhook_secret.get_secret_value()
    return hmac.compare_digest(given.encode(), expected.encode())


def webhook_path(settings: Settings) -> str:
    path = urlparse(settings.webhook_url or "").path
    return path if path and path != "/" else "/webhook"


async def handle_update(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    metrics = metrics_of(app)
    if not secret_ok(app.settings, request.headers.get(SECRET_HEADER)):
        metrics.rejected_requests.inc()
        return web.Response(status=401, text="wrong secret")
    try:
        update = Update.model_validate(await request.json(), context={"bot": app.bot})
    except (ValueError, ValidationError):
        return web.Response(status=400, text="not an update")
    in_flight = request.app[INFLIGHT_KEY]
    if not await in_flight.claim(update.update_id):
        # Being handled: Telegram is to try again later. It waits with this chat's next
        # updates meanwhile and shows the 503 in getWebhookInfo's last_error_message.
        metrics.duplicate_updates.inc()
        return web.Response(status=503, text="being handled")
    try:
        if await already_processed(app, [update.update_id]):
            metrics.duplicate_updates.inc()
            return web.Response()
        await _handle(app, update, request.app[LOCKS_KEY], metrics)
    finally:
        await in_flight.release(update.update_id)
    metrics.updates_handled.inc()
    return web.Response()


async def _handle(app: App, update: Update, locks: _SenderLocks, metrics: Metrics) -> None:
    route: list[str | None] = [None]  # the router that handles it (bot.metrics.RouteTagger)
    started = time.perf_counter()
    try:
        async with locks.hold(sender_key(update)):
            await app.dp.feed_update(app.bot, update, guard_update=True, **{ROUTE_KEY: route})
    except Exception:  # counted by the errors hook; 200 anyway: a retry storm would not help
        logger.exception("update %s could not be handled", update.update_id)
    finally:
        metrics.update_seconds.labels(handler_group(route)).observe(
            time.perf_counter() - started)


def monitoring_allowed(settings: Settings, authorization: str | None) -> bool:
    """Without METRICS_TOKEN everyone who reaches the port; with it, its bearer only."""
    if settings.metrics_token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              expected.encode())


def _monitoring(handler: Callable[[web.Request], Awaitable[web.Response]],
                ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def guarded(request: web.Request) -> web.Response:
        if not monitoring_allowed(request.app[APP_KEY].settings,
                                  request.headers.get("Authorization")):
            return web.Response(status=401, text="token required",
                                headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return guarded


async def _check_database(app: App) -> str:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), app.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # the class goes to the log, not into the answer
        logger.warning("health check: database unreachable: %s", exception_text(exc))
        return "error"


async def _check_redis(request: web.Request) -> str:
    client = request.app.get(REDIS_KEY)
    if client is None:
        return "not configured"
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await client.ping()
        return "ok"
    except Exception as exc:
        logger.warning("health check: Redis unreachable: %s", exception_text(exc))
        return "error"


async def healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    checks = {"database": await _check_database(app), "redis": await _check_redis(request)}
    healthy = all(v in ("ok", "not configured") for v in checks.values())
    return web.json_response(checks, status=200 if healthy else 503,
                             dumps=lambda d: json.dumps(d, sort_keys=True))


async def metrics_endpoint(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    metrics = metrics_of(app)
    # at most every QUEUE_REFRESH s; on the queue's own clock (its rows' next_attempt_at)
    await metrics.refresh_queue(app.engine, app.delivery.now())
    return web.Response(body=metrics.render(), headers={
        "Content-Type": CONTENT_TYPE_LATEST, "X-Content-Type-Options": "nosniff"})


async def _redis_ctx(web_app: web.Application) -> AsyncIterator[None]:
    url = web_app[APP_KEY].settings.redis_url
    client = None
    if url:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_connect_timeout=HEALTH_TIMEOUT)
    web_app[REDIS_KEY] = client
    web_app[INFLIGHT_KEY] = InFlight(client)
    yield
    if client is not None:
        await client.aclose()


def _web_app(app: App) -> web.Application:
    web_app = web.Application()
    web_app[APP_KEY] = app
    web_app[LOCKS_KEY] = _SenderLocks()
    metrics_of(app)
    web_app.cleanup_ctx.append(_redis_ctx)
    return web_app


def build_web_app(app: App, monitoring: bool = True,
                  whatsapp: WhatsApp | None = None) -> web.Application:
    """The aiohttp application: POST <webhook path>, and GET /healthz and GET /metrics
    unless they have a port of their own (`monitoring=False`, see build_monitoring_app);
    with `whatsapp`, its webhook at /whatsapp (bot/channels/whatsapp); GET /v/<number> with
    PUBLIC_BASE_URL (bot.web.verify)."""
    web_app = _web_app(app)
    web_app.router.add_post(webhook_path(app.settings), handle_update)
    if app.settings.public_base_url:
        add_verify_page(web_app, app)
    if whatsapp is not None:
        add_whatsapp_routes(web_app, whatsapp)
    if monitoring:
        _add_monitoring(web_app)
    return web_app


def build_monitoring_app(app: App) -> web.Application:
    """GET /healthz and GET /metrics alone, for METRICS_HOST:METRICS_PORT."""
    web_app = _web_app(app)
    _add_monitoring(web_app)
    return web_app


def _add_monitoring(web_app: web.Application) -> None:
    web_app.router.add_get("/healthz", _monitoring(healthz))
    web_app.router.add_get("/metrics", _monitoring(metrics_endpoint))


async def run_webhook(app: App, stop: asyncio.Event | None = None,
                      whatsapp: WhatsApp | None = None) -> None:
    """Serve on WEBHOOK_HOST:WEBHOOK_PORT, register the webhook, run until cancelled/stopped.

    Every instance registers the same URL; none deletes it on exit (the others go on).
    """
    settings = app.settings
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ConfigError("WEBHOOK_URL and WEBHOOK_SECRET must both be set for webhook mode")
    separate = settings.metrics_port is not None
    runner = web.AppRunner(build_web_app(app, monitoring=not separate, whatsapp=whatsapp),
                           access_log=None)
    monitor = web.AppRunner(build_monitoring_app(app), access_log=None) if separate else None
    for each in (runner, monitor):
        if each is not None:
            await each.setup()
    try:
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        if monitor is not None:
            await web.TCPSite(monitor, settings.metrics_host, settings.metrics_port).start()
            logger.info("/healthz and /metrics served on %s:%s", settings.metrics_host,
                        settings.metrics_port)
        await app.bot.set_webhook(
            url=settings.webhook_url, secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=app.dp.resolve_used_update_types(), drop_pending_updates=False)
        logger.info("webhook %s served on %s:%s", settings.webhook_url,
                    settings.webhook_host, settings.webhook_port)
        await (stop or asyncio.Event()).wait()
    finally:
        for each in (monitor, runner):
            if each is not None:
                await each.cleanup()


async def run_webhook_process(settings: Settings, *, routers: RouterBuilder) -> None:
    """`python -m bot run` with WEBHOOK_URL set: migrations, background work, the server."""
    from bot.runner import prune_processed_updates, start_background, stop_background

    if settings.webhook_secret is None:
        raise ConfigError("WEBHOOK_SECRET: required when WEBHOOK_URL is set")
    await upgrade_async(settings.database_url)
    app = build_app(settings, routers=routers)
    whatsapp = whatsapp_of(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.dp.emit_startup(bot=app.bot, **app.dp.workflow_data)
    app.scheduler.add_job(prune_processed_updates, "interval", hours=6, args=[app],
                          id="prune_processed_updates")
    worker = await start_background(app)
    try:
        await run_webhook(app, stop, whatsapp)
    finally:
        logger.info("shutting down")
        await app.dp.emit_shutdown(bot=app.bot, **app.dp.workflow_data)
        await stop_background(app, worker)
        if whatsapp is not None:
            await whatsapp.close()
