"""What /metrics (bot.webhook) exports, through prometheus-client, one registry per App.

Per process: updates handled, their handling time by handler group (the router that handled
the update, "handlers." left off; "unhandled" when none did), handler errors, repeated and
refused webhook requests, each delivery's outcome, send time and wait since it was queued by
channel, Telegram's 429 answers by channel, and the process itself (CPU, memory, open files,
GC).

Whole queue (all instances): how many deliveries wait (`bot_delivery_queue_depth`, counted
up to QUEUE_COUNT_CAP) and how long the longest-waiting due one has waited
(`bot_delivery_oldest_due_seconds`). Both come from the claim index (status, priority,
next_attempt_at): their cost grows with the queue, never with the table of a year's sent
messages, and they are read at most every QUEUE_REFRESH seconds however often anyone scrapes.
deploy/grafana-dashboard.json and deploy/prometheus-alerts.yml use these names
(tests/test_monitoring.py holds them together).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import ErrorEvent, TelegramObject
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import Job
from bot.services.errors import DomainError
from db.models import Delivery

logger = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series: nothing here reads them

QUEUE_REFRESH = 15.0  # seconds between two reads of the queue, per process
QUEUE_COUNT_CAP = 100_000  # counted up to this; beyond, the depth says "at least"
UPDATE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200)
OUTCOMES = {"queued": "retry"}  # a row put back for later is a retry, not a queued message


class Metrics:
    """The App's metrics (bot.webhook.metrics_of creates them and hooks them in)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.updates_handled = Counter(
            "bot_updates_handled", "Updates fed to the dispatcher.", registry=r)
        self.update_seconds = Histogram(
            "bot_update_handling_seconds", "Time to handle one webhook update, by the "
            "handler group (router) that handled it.", ["handler_group"],
            buckets=UPDATE_BUCKETS, registry=r)
        self.handler_errors = Counter(
            "bot_handler_errors", "Updates whose handler raised (a person's mistake, a "
            "DomainError, is not one).", registry=r)
        self.duplicate_updates = Counter(
            "bot_duplicate_updates", "Updates skipped: already handled, or being handled "
            "(answered 503).", registry=r)
        self.rejected_requests = Counter(
            "bot_webhook_rejected", "Webhook requests refused for a wrong or missing secret.",
            registry=r)
        self.deliveries = Counter(
            "bot_deliveries", "Deliveries this process tried, by channel and outcome "
            "(sent, blocked, failed, cancelled, retry).", ["channel", "outcome"], registry=r)
        self.delivery_seconds = Histogram(
            "bot_delivery_send_seconds", "Time to deliver one message (its document made, "
            "the rate limiter waited for, the channel's API answered), by channel.",
            ["channel"], buckets=SEND_BUCKETS, registry=r)
        self.delivery_wait = Histogram(
            "bot_delivery_wait_seconds", "From queued to sent, by channel: how long people "
            "wait for a message (a long broadcast at DELIVERY_RATE included).", ["channel"],
            buckets=WAIT_BUCKETS, registry=r)
        self.rate_limited = Counter(
            "bot_delivery_rate_limited", "Too Many Requests (429) answers, by channel and "
            "scope (bot: everyone waits; chat: one recipient).", ["channel", "scope"],
            registry=r)
        self.queue_depth = Gauge(
            "bot_delivery_queue_depth", f"Deliveries by status, all instances (counted up "
            f"to {QUEUE_COUNT_CAP}).", ["status"], registry=r)
        self.oldest_due = Gauge(
            "bot_delivery_oldest_due_seconds", "How long the longest-waiting delivery that "
            "is due has waited past its time (0: none is late), all instances.", registry=r)
        self.queue_read_errors = Counter(
            "bot_delivery_queue_read_errors", "Reads of the queue for these metrics that "
            "failed (the gauges then keep their last values).", registry=r)
        self._queue_read_at = float("-inf")
        self._queue_lock = asyncio.Lock()

    def start_at_zero(self, channels: list[str]) -> None:
        """Every series a dashboard or alert reads exists from the start, at 0, rather
        than appearing with its first event (a rate() over it then works at once)."""
        for channel in channels:
            for outcome in ("sent", "blocked", "failed", "cancelled", "retry"):
                self.deliveries.labels(channel, outcome)
            for scope in ("bot", "chat"):
                self.rate_limited.labels(channel, scope)
            self.delivery_seconds.labels(channel)
            self.delivery_wait.labels(channel)
        for status in ("queued", "sending"):
            self.queue_depth.labels(status)

    # -- delivery worker (bot.delivery.DeliveryObserver)
    def delivered(self, job: Job, outcome: str, seconds: float, now: datetime) -> None:
        self.deliveries.labels(job.channel, OUTCOMES.get(outcome, outcome)).inc()
        self.delivery_seconds.labels(job.channel).observe(seconds)
        if outcome == "sent" and job.queued_at is not None:
            self.delivery_wait.labels(job.channel).observe(
                max(0.0, (now - job.queued_at).total_seconds()))

    def throttled(self, channel: str, per_recipient: bool) -> None:
        self.rate_limited.labels(channel, "chat" if per_recipient else "bot").inc()

    # -- the queue
    async def refresh_queue(self, engine: AsyncEngine, now: datetime) -> None:
        """Read the queue's depth and oldest due row, unless read in the last QUEUE_REFRESH."""
        async with self._queue_lock:
            if time.monotonic() - self._queue_read_at < QUEUE_REFRESH:
                return
            try:
                depth, oldest = await read_queue(engine)
            except Exception:
                self.queue_read_errors.inc()
                logger.warning("could not read the delivery queue for /metrics", exc_info=True)
                return
            self._queue_read_at = time.monotonic()
        for status, count in depth.items():
            self.queue_depth.labels(status).set(count)
        late = (now - oldest).total_seconds() if oldest is not None else 0.0
        self.oldest_due.set(max(0.0, late))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def queue_queries() -> list[Select[Any]]:
    """Rows queued and being sent (each counted up to the cap), and the earliest
    next_attempt_at of a queued row: range reads of the claim index (status, priority,
    next_attempt_at), never of the whole table (tests/test_monitoring.py reads the plans)."""
    counts = [select(func.count()).select_from(
        select(Delivery.id).where(Delivery.status == status).limit(QUEUE_COUNT_CAP).subquery())
        for status in ("queued", "sending")]
    oldest = select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "queued")
    return [*counts, oldest]


async def read_queue(engine: AsyncEngine) -> tuple[dict[str, int], datetime | None]:
    """({"queued": n, "sending": n}, the earliest due time of a queued row)."""
    queued, sending, oldest = queue_queries()
    async with engine.connect() as conn:
        depth = {"queued": (await conn.scalar(queued)) or 0,
                 "sending": (await conn.scalar(sending)) or 0}
        return depth, await conn.scalar(oldest)


# -- hooks into the dispatcher ------------------------------------------------------------

ROUTE_KEY = "metrics_route"  # feed_update(..., metrics_route=[None]): who handled it


def handler_group(route: list[str | None]) -> str:
    return (route[0] or "unhandled").removeprefix("handlers.")


class RouteTagger(BaseMiddleware):
    """Inner middleware of the dispatcher's observers (so of every router's handlers): notes
    which router's handler took the update in the list passed as `metrics_route`."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        route, router = data.get(ROUTE_KEY), data.get("event_router")
        if isinstance(route, list) and router is not None:
            route[0] = router.name
        return await handler(event, data)


class ErrorCounter(BaseMiddleware):
    """Outer middleware of dp.errors: counts the updates whose handler failed. A DomainError
    is not one: it is the person's mistake, answered by handlers/shared/errors.py."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if not (isinstance(event, ErrorEvent) and isinstance(event.exception, DomainError)):
            self.metrics.handler_errors.inc()
        return await handler(event, data)


def hook_dispatcher(dp: Dispatcher, metrics: Metrics) -> None:
    dp.errors.outer_middleware(ErrorCounter(metrics))
    tagger = RouteTagger()
    for name, observer in dp.observers.items():
        if name not in ("update", "error"):
            observer.middleware(tagger)
