"""Sending side of the delivery queue: claims queued rows and sends each through its channel.

Every row names its channel (`deliveries.channel`, "telegram" today); the worker sends it
through `channels[row.channel]` (bot.channels), and knows no messenger's API or exceptions.

How it keeps its promises:
- Pacing: every send first takes a slot from a `RateLimiter` (bot.pacing): slots are spaced
  evenly (1/DELIVERY_RATE apart, never bursts after a pause) and one chat gets at most one
  message a second. A `RetryAfter` (Telegram's 429) pauses *all* senders of the limiter for
  its seconds; the message is retried. `LocalRateLimiter` serves one process; a shared
  (Redis) limiter implements the same two methods. A channel may have a limiter of its own
  (`limiters`: WhatsApp's WHATSAPP_RATE and 6 s per person), and a channel with a
  `send_queued` is told the row's source_type (WhatsApp picks a template by it).
- Durability: rows are claimed (status `sending`, claimed_by, a LEASE in `next_attempt_at`)
  by one UPDATE … RETURNING (on PostgreSQL the inner SELECT uses FOR UPDATE SKIP LOCKED, so
  several workers never take the same row), sent with no database connection held, and the
  result written right after; the results of all sends in flight share one commit (group
  commit). Claimed rows not yet sent go back to `queued` on a clean `stop()`; after a crash,
  claims whose lease ran out are queued again (`_recover`, at start and every minute).
- The one exception to "exactly once" (the in-flight window): a message that Telegram
  accepted just before the process died, but whose result was not yet committed, is sent
  again after the restart. Each sender waits for its result to be committed before it takes
  another row, so one crash duplicates at most `concurrency` messages (default 8); rows that
  were claimed but not yet sent are never duplicated.
- Errors (bot.channels.base): `Blocked` (403) → `blocked` and users.blocked_bot set, never
  retried; `Refused` (400: chat not found, bad content) → `failed` with the reason;
  `Transient` (5xx / network) → retried with exponential backoff up to MAX_ATTEMPTS, then
  `failed` with the reason kept. A row whose channel this worker does not have fails with
  that reason.
- Order: lower `priority` first (personal notices before the rest of a long broadcast).
- Made documents: a payload may name a document to make at send time (`document`: one of
  the worker's `makers`, e.g. "certificate") instead of carrying its bytes: certificates are
  rendered as they are sent, so neither the queue nor the worker's payload cache ever holds
  thousands of PDFs. A maker that finds its document must no longer go out (a revoked
  certificate) raises `DocumentWithdrawn`: the row is `cancelled`, nothing is sent.
- Sent in part: a channel may send only part of a message (WhatsApp's template outside the
  24-hour window) and say so (`InPart`): the row is `sent` and, in the same commit, noted as
  owed (`owed_messages`), for the channel to bring whole later (bot.services.owed).
- Memory: the payload cache (one entry per payload, shared by all its rows) is bounded by
  PAYLOAD_CACHE_ENTRIES and by PAYLOAD_CACHE_BYTES (the size of the stored bodies).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.channels.base import Blocked, Channel, InPart, Refused, RetryAfter, Transient
from bot.logs import exception_text
from bot.pacing import LocalRateLimiter, RateLimiter, RealTimer, Timer, VirtualTimer
from bot.services.delivery import DocumentWithdrawn, OutgoingMessage
from db.base import utcnow
from db.models import Delivery, OutboxPayload, OwedMessage, User
from db.upserts import insert_or_skip

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # 5xx / network errors; then the row fails with the reason
BACKOFF_BASE = 2.0  # seconds; doubles with every failed attempt
BACKOFF_MAX = 300.0
LEASE = timedelta(minutes=5)  # a claim older than this belongs to a dead worker
MAX_429_RETRIES = 10
CLAIM_FACTOR = 4  # rows claimed per sender at a time (claimed, unsent rows are never duplicated)
RECOVER_EVERY = 60.0  # seconds between looks for expired claims during a long drain
PAYLOAD_CACHE_ENTRIES = 512
PAYLOAD_CACHE_BYTES = 16 * 1024 * 1024  # e.g. ~50 old-style messages with a PDF inside
DELIVERIES = Delivery.__table__
WRITE_OUTCOME = (
    update(DELIVERIES).where(DELIVERIES.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
            sent_message_id=bindparam("b_message_id"), error=bindparam("b_error"),
            sent_at=bindparam("b_sent_at"), next_attempt_at=bindparam("b_next"),
            claimed_by=None))


# A document made at send time (OutgoingMessage.document = {"maker": name, ...}): the maker
# gets the worker's sessionmaker and that spec, and returns the file's bytes.
DocumentMaker = Callable[[async_sessionmaker, dict[str, Any]], Awaitable[bytes]]


# --- the worker ---------------------------------------------------------------------------
@dataclass(slots=True)
class Job:
    id: int
    chat_id: int
    user_id: int | None
    payload_id: int
    attempts: int
    channel: str = "telegram"
    queued_at: datetime | None = None  # when it was queued (metrics: the wait until sent)
    source_type: str | None = None  # what it is (a WhatsApp template is chosen by it)


@dataclass(slots=True)
class Outcome:
    job: Job
    status: str  # sent | blocked | failed | cancelled | queued (retry later)
    message_id: int | None = None
    error: str | None = None
    retry_in: float = 0.0
    owed: bool = False  # sent only in part (InPart): the whole is owed


class DeliveryObserver(Protocol):
    """Told of every delivery tried and every 429 (bot.metrics.Metrics is one)."""

    def delivered(self, job: Job, outcome: str, seconds: float, now: datetime) -> None: ...

    def throttled(self, channel: str, per_recipient: bool) -> None: ...


class ChatTurns:
    """Messages to one chat go out one at a time, in the order the senders took them (by
    id): a slow first send (a fresh lookup, an upload) is never overtaken by the next one
    to the same person. asyncio's Lock wakes its waiters first come, first served."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> Any:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._holders[chat_id] = self._holders.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[chat_id] -= 1
            if not self._holders[chat_id]:  # nobody else waits: forget the chat
                del self._holders[chat_id], self._locks[chat_id]


class DeliveryWorker:
    """Drains the queue with `concurrency` concurrent senders behind one rate limiter.

    `channels`: name → Channel, one for every channel rows may name ({"telegram": ...});
    `makers`: name → DocumentMaker, for payloads whose document is made at send time.
    """

    def __init__(self, channels: Mapping[str, Channel], sessionmaker: async_sessionmaker, *,
                 rate: float | None = 25.0, concurrency: int = 8,
                 timer: Timer | None = None, limiter: RateLimiter | None = None,
                 now: Callable[[], datetime] = utcnow, worker_id: str | None = None,
                 makers: Mapping[str, DocumentMaker] | None = None) -> None:
        self.channels, self.sessionmaker = dict(channels), sessionmaker
        self.makers: dict[str, DocumentMaker] = dict(makers or {})
        self.timer: Timer = timer or RealTimer()
        self.limiter: RateLimiter = limiter or LocalRateLimiter(rate, self.timer)
        # a channel with pacing of its own (WhatsApp: WHATSAPP_RATE, 6 s per person)
        self.limiters: dict[str, RateLimiter] = {}
        self.concurrency = concurrency
        self.now = now
        self.worker_id = worker_id or f"{os.getpid()}-{id(self):x}"
        self._stop = asyncio.Event()
        # payload id → (message, size of its stored body); see _load_payloads
        self._payloads: OrderedDict[int, tuple[OutgoingMessage, int]] = OrderedDict()
        self._payload_bytes = 0
        self._pending: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._recovered_at = float("-inf")
        self._active = 0  # senders holding a job whose outcome is not yet handed over
        self.engine = sessionmaker.kw["bind"]
        self.observer: DeliveryObserver | None = None  # metrics (bot.webhook.metrics_of)

    # -- public interface
    async def drain(self) -> int:
        """Send everything due now; returns how many rows were processed."""
        buffer: deque[Job] = deque()
        claim_lock, turns = asyncio.Lock(), ChatTurns()
        exhausted = False
        done = 0
        if self.timer.monotonic() - self._recovered_at > RECOVER_EVERY:
            await self._recover()

        async def next_job() -> Job | None:
            nonlocal exhausted
            async with claim_lock:
                if not buffer and not exhausted and not self._stop.is_set():
                    if self.timer.monotonic() - self._recovered_at > RECOVER_EVERY:
                        await self._recover()
                    jobs = await self._claim(self.concurrency * CLAIM_FACTOR)
                    exhausted = not jobs
                    buffer.extend(jobs)
                return buffer.popleft() if buffer and not self._stop.is_set() else None

        async def sender() -> None:
            nonlocal done
            while (job := await next_job()) is not None:
                self._active += 1
                started = time.perf_counter()
                try:
                    async with turns.turn(job.chat_id):
                        outcome = await self._deliver(job)
                finally:
                    self._active -= 1
                if self.observer is not None:
                    self.observer.delivered(job, outcome.status, time.perf_counter() - started,
                                            self.now())
                await self._record(outcome)
                done += 1

        writer = asyncio.create_task(self._writer())
        try:
            await asyncio.gather(*(sender() for _ in range(self.concurrency)))
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if buffer:  # stopped: give the claimed rows back at once
                await self._release([j.id for j in buffer])
        return done

    async def run(self, idle_sleep: float = 0.5) -> None:
        self._stop.clear()
        while not self._stop.is_set():
            try:
                done = await self.drain()
            except Exception:  # the database may be briefly unavailable; keep the loop alive
                logger.exception("delivery loop failed; retrying")
                done = 0
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), idle_sleep)

    def stop(self) -> None:
        self._stop.set()

    # -- database (Core statements on a short connection: few round trips, no ORM state)
    async def _recover(self) -> None:
        """Claims whose lease ran out belong to a worker that died: queue them again."""
        self._recovered_at = self.timer.monotonic()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.status == "sending",
                                         DELIVERIES.c.next_attempt_at <= self.now())
                .values(status="queued", claimed_by=None))

    async def requeue_orphans(self) -> int:
        """At start-up of the only process (SQLite's instance lock guarantees it), every claim
        belongs to a dead worker: queue them again now instead of after the lease."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.status == "sending")
                .values(status="queued", claimed_by=None, next_attempt_at=self.now()))
        return result.rowcount or 0

    async def _claim(self, limit: int) -> list[Job]:
        now = self.now()
        t = DELIVERIES
        due = (select(t.c.id).where(t.c.status == "queued", t.c.next_attempt_at <= now)
               .order_by(t.c.priority, t.c.next_attempt_at, t.c.id).limit(limit))
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = (await conn.execute(
                update(t).where(t.c.id.in_(due.scalar_subquery()))
                .values(status="sending", claimed_by=self.worker_id,
                        next_attempt_at=now + LEASE)
                .returning(t.c.id, t.c.chat_id, t.c.user_id, t.c.payload_id, t.c.attempts,
                           t.c.priority, t.c.channel, t.c.created_at,
                           t.c.source_type))).all()
            if rows:
                await self._load_payloads(conn, {r.payload_id for r in rows})
        rows.sort(key=lambda r: (r.priority, r.id))
        return [Job(r.id, r.chat_id, r.user_id, r.payload_id, r.attempts, r.channel,
                    r.created_at, r.source_type) for r in rows]

    async def _load_payloads(self, conn: Any, ids: set[int]) -> dict[int, OutgoingMessage]:
        """Cache the payloads of `ids` (the most recently used kept, within
        PAYLOAD_CACHE_ENTRIES and PAYLOAD_CACHE_BYTES); returns those it read."""
        missing = [i for i in ids if i not in self._payloads]
        for i in ids - set(missing):
            self._payloads.move_to_end(i)
        loaded: dict[int, OutgoingMessage] = {}
        if missing:
            rows = await conn.execute(
                select(OutboxPayload.id, OutboxPayload.body).where(OutboxPayload.id.in_(missing)))
            for pid, body in rows:
                loaded[pid] = message = OutgoingMessage.from_body(body)
                size = len(json.dumps(body, ensure_ascii=False))
                if (raced := self._payloads.pop(pid, None)) is not None:  # read twice at once
                    self._payload_bytes -= raced[1]
                self._payloads[pid] = (message, size)
                self._payload_bytes += size
        # the newest entry stays even if it alone is over the byte bound
        while len(self._payloads) > 1 and (len(self._payloads) > PAYLOAD_CACHE_ENTRIES
                                           or self._payload_bytes > PAYLOAD_CACHE_BYTES):
            _, (_, size) = self._payloads.popitem(last=False)
            self._payload_bytes -= size
        return loaded

    async def _release(self, ids: list[int]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.id.in_(ids),
                                         DELIVERIES.c.status == "sending",
                                         DELIVERIES.c.claimed_by == self.worker_id)
                .values(status="queued", claimed_by=None, next_attempt_at=self.now()))

    async def _record(self, outcome: Outcome) -> None:
        """Hand the outcome to the writer and wait until it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, future))
        self._wake.set()
        await future

    async def _writer(self) -> None:
        """Group commit: the outcomes of all sends in flight go into one transaction."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            for _ in range(3):  # senders released by the last commit take their next job
                await asyncio.sleep(0)
            for spin in range(200):
                if not self._active or len(self._pending) >= self.concurrency:
                    break
                await asyncio.sleep(0 if spin < 20 else 0.001)
            if not self._pending:
                continue
            batch, self._pending = self._pending, []
            try:
                await self._write([o for o, _ in batch])
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            else:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_result(None)

    async def _write(self, outcomes: list[Outcome]) -> None:
        now = self.now()
        params = []
        blocked = []
        owed = [{"delivery_id": o.job.id, "chat_id": o.job.chat_id, "created_at": now}
                for o in outcomes if o.owed]
        for o in outcomes:
            final = o.status != "queued"
            params.append({
                "b_id": o.job.id, "b_status": o.status, "b_attempts": o.job.attempts + 1,
                "b_message_id": o.message_id, "b_error": o.error,
                # a cancelled row went nowhere: no time, as when a queued row is cancelled
                "b_sent_at": now if final and o.status != "cancelled" else None,
                "b_next": now + timedelta(seconds=o.retry_in) if not final else now,
            })
            if o.status == "blocked" and o.job.user_id:
                blocked.append(o.job.user_id)
        async with self.engine.begin() as conn:
            await conn.execute(WRITE_OUTCOME, params)
            if owed:  # a row sent twice (a lease that ran out) is owed once
                await conn.execute(insert_or_skip(OwedMessage.__table__, conn.dialect.name,
                                                  "delivery_id"), owed)
            if blocked:
                await conn.execute(update(User).where(User.id.in_(blocked))
                                   .values(blocked_bot=True))

    # -- sending
    async def _deliver(self, job: Job) -> Outcome:
        channel = self.channels.get(job.channel)
        if channel is None:  # queued by a feature this process was not given a channel for
            logger.warning("delivery %s (user %s): no channel %r", job.id, job.user_id,
                           job.channel)
            return Outcome(job, "failed", error=f"no channel {job.channel!r} to send through")
        cached = self._payloads.get(job.payload_id)
        if cached is not None:
            message = cached[0]
        else:
            async with self.engine.connect() as conn:
                message = (await self._load_payloads(conn, {job.payload_id}))[job.payload_id]
        document = None
        if message.document is not None:  # made before taking a slot, once for any retries
            try:
                document = await self._make_document(message.document)
            except DocumentWithdrawn as exc:
                logger.info("delivery %s (user %s) cancelled: %s", job.id, job.user_id, exc)
                return Outcome(job, "cancelled", error=str(exc)[:500] or "withdrawn")
            except Exception as exc:
                logger.warning("delivery %s: making the document failed: %s", job.id,
                               exception_text(exc))
                return self._retry_or_fail(job, f"{type(exc).__name__}: {exc}", exc,
                                           "document: ")
        return await self._send(channel, job, message, document)

    async def _make_document(self, spec: dict[str, Any]) -> bytes:
        maker = self.makers.get(spec["maker"])
        if maker is None:
            raise LookupError(f"no document maker {spec['maker']!r}")
        return await maker(self.sessionmaker, spec)

    async def _send(self, channel: Channel, job: Job, message: OutgoingMessage,
                    document: bytes | None) -> Outcome:
        limiter = self.limiters.get(job.channel, self.limiter)
        # a channel that sends differently by kind (WhatsApp's templates) is told the kind
        send_queued = getattr(channel, "send_queued", None)
        for _ in range(MAX_429_RETRIES):
            await limiter.acquire(job.chat_id)
            try:
                if send_queued is not None:
                    message_id = await send_queued(job.chat_id, message, document,
                                                   kind=job.source_type)
                else:
                    message_id = await channel.send(job.chat_id, message, document)
            except RetryAfter as exc:
                if self.observer is not None:
                    self.observer.throttled(job.channel, exc.per_recipient)
                if exc.per_recipient:  # only this person must wait: the others go on
                    return Outcome(job, "queued", error="flood control", retry_in=exc.seconds)
                limiter.pause(exc.seconds)
                continue
            except Blocked as exc:
                return Outcome(job, "blocked", error=exc.reason)
            except Refused as exc:
                logger.info("delivery %s (user %s) refused: %s", job.id, job.user_id, exc.reason)
                return Outcome(job, "failed", error=exc.reason)
            except Transient as exc:
                return self._retry_or_fail(job, exc.reason, exc.__cause__ or exc)
            except Exception as exc:  # one bad row must not stop the queue
                logger.warning("delivery %s (user %s) failed: %s", job.id, job.user_id,
                               exception_text(exc))
                return Outcome(job, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
            if isinstance(message_id, InPart):
                return Outcome(job, "sent", message_id=message_id.message_id, owed=True)
            return Outcome(job, "sent", message_id=message_id)
        return Outcome(job, "queued", error="flood control", retry_in=BACKOFF_BASE)

    def _retry_or_fail(self, job: Job, reason: str, cause: BaseException,
                       what: str = "") -> Outcome:
        # The row keeps the whole reason (erasure clears it); the log only what is safe there.
        if job.attempts + 1 >= MAX_ATTEMPTS:
            logger.warning("delivery %s (user %s) failed for good: %s%s", job.id, job.user_id,
                           what, exception_text(cause))
            return Outcome(job, "failed", error=f"{what}{reason}"[:500])
        delay = min(BACKOFF_BASE * 2 ** job.attempts, BACKOFF_MAX)
        return Outcome(job, "queued", error=f"{what}{reason}"[:500], retry_in=delay)


def worker_for(channels: Mapping[str, Channel], sessionmaker: async_sessionmaker,
               rate: float | None, local: bool, limiter: RateLimiter | None = None,
               makers: Mapping[str, DocumentMaker] | None = None) -> DeliveryWorker:
    """The app's worker. Against the in-process API (tests, console) time is virtual:
    there is no Telegram limit to respect and tests must never sleep. `limiter` replaces
    the in-process one (e.g. `bot.ratelimit_redis.RedisRateLimiter` for several processes)."""
    return DeliveryWorker(channels, sessionmaker, rate=rate, limiter=limiter, makers=makers,
                          timer=VirtualTimer() if local else None)


__all__ = ["DeliveryWorker", "DocumentMaker", "worker_for"]
