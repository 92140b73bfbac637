"""Long polling that loses nothing: an update is confirmed to Telegram (by asking for the next
offset) only after the whole batch it came in has been handled — or parked, see below — and an
update id already recorded in `processed_updates` (same transaction as its handler) is skipped
when Telegram delivers it again after a crash.

A long read (a handler flagged HEAVY_DB: /stats, exports, rankings) must not hold up everyone
else's next updates until it ends, so it may leave its batch: it and its sender's later
updates of that batch are written to `parked_updates`, the next batch is fetched meanwhile,
and each row is deleted once its update is handled. After a crash the runner handles what is
left there (`replay_parked`) before polling again.

A batch that cannot be handled at all (the database did not answer) is not confirmed: it is
fetched and handled again after a pause.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from sqlalchemy import delete, select

from bot.app import App
from db.models import ParkedUpdate, ProcessedUpdate

logger = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
CONCURRENCY = 16
PARKED_GRACE = 60.0  # a clean stop waits this long for parked updates; the rest come back


def sender_of(update: Update) -> int | None:
    """The Telegram id of whoever sent the update (their chat's where no person is named)."""
    event = update.event
    user = getattr(event, "from_user", None)
    if user is not None:
        return user.id
    chat = getattr(event, "chat", None)
    return chat.id if chat is not None else None


def sender_key(update: Update) -> int:
    """Updates of one person are handled in order; different people concurrently."""
    sender = sender_of(update)
    return sender if sender is not None else update.update_id


async def already_processed(app: App, ids: list[int]) -> set[int]:
    async with app.sessionmaker() as session:
        rows = await session.scalars(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id.in_(ids)))
        return set(rows)


LeaveBatch = Callable[[], Awaitable[None]]


async def handle_update(app: App, update: Update, leave_batch: LeaveBatch | None = None,
                        ) -> None:
    extra = {"leave_batch": leave_batch} if leave_batch is not None else {}
    try:
        await app.dp.feed_update(app.bot, update, guard_update=True,
                                 **extra)
    except Exception:  # never let one bad update stop the bot
        logger.exception("update %s could not be handled", update.update_id)


async def handle_batch(app: App, updates: list[Update],
                       running: dict[int, asyncio.Task[None]] | None = None,
                       ) -> list[asyncio.Task[None]]:
    """Handle a batch; return when each of its updates is handled or parked, with the
    tasks still finishing parked ones. `running` (sender -> task, kept by `poll` across
    batches) keeps one person's updates in order: a sender whose earlier updates are still
    parked has this batch's updates parked behind them."""
    running = {} if running is None else running
    fresh_ids = {u.update_id for u in updates} - await already_processed(
        app, [u.update_id for u in updates])
    groups: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        if update.update_id in fresh_ids:
            groups[sender_key(update)].append(update)
    limit = asyncio.Semaphore(CONCURRENCY)
    loop = asyncio.get_running_loop()
    settled: list[asyncio.Future[None]] = []
    tasks: list[asyncio.Task[None]] = []
    for sender, group in groups.items():
        before = running.get(sender)
        settled.append(loop.create_future())
        task = asyncio.create_task(_run_group(app, group, limit, settled[-1], before))
        running[sender] = task
        task.add_done_callback(functools.partial(_forget, running, sender))
        tasks.append(task)
    await asyncio.gather(*settled)
    return [task for task in tasks if not task.done()]


def _forget(running: dict[int, asyncio.Task[None]], sender: int,
            task: asyncio.Task[None]) -> None:
    if running.get(sender) is task:
        del running[sender]


async def _run_group(app: App, group: list[Update], limit: asyncio.Semaphore,
                     settled: asyncio.Future[None],
                     before: asyncio.Task[None] | None = None) -> None:
    """One sender's updates in order. `settled` is resolved when the batch need not wait
    for the rest: all handled, or parked (the semaphore's place is then given back)."""
    parked: set[int] = set()
    if before is not None and not before.done():
        if await _park(app, group):  # behind the same person's parked updates
            parked.update(u.update_id for u in group)
            settled.set_result(None)
        await asyncio.wait({before})
    if not settled.done():
        await limit.acquire()
    try:
        for n, update in enumerate(group):
            async def leave_batch(rest: list[Update] = group[n:]) -> None:
                if settled.done():
                    return  # parked already, with everything after it
                if await _park(app, rest):
                    parked.update(u.update_id for u in rest)
                    limit.release()
                    settled.set_result(None)

            await handle_update(app, update, leave_batch)
            if update.update_id in parked:
                await _unpark(app, [update.update_id])
    finally:
        if not settled.done():
            limit.release()
            settled.set_result(None)


async def _park(app: App, updates: list[Update]) -> bool:
    """Write the updates to parked_updates; False (they stay in the batch) if that fails."""
    try:
        async with app.sessionmaker() as session, session.begin():
            ids = [u.update_id for u in updates]
            await session.execute(delete(ParkedUpdate).where(ParkedUpdate.update_id.in_(ids)))
            session.add_all(ParkedUpdate(update_id=u.update_id, sender_id=sender_of(u),
                                         payload=u.model_dump(mode="json", exclude_unset=True))
                            for u in updates)
    except Exception:
        logger.exception("could not park updates %s; they keep their batch waiting",
                         [u.update_id for u in updates])
        return False
    return True


async def _unpark(app: App, ids: list[int]) -> None:
    try:
        async with app.sessionmaker() as session, session.begin():
            await session.execute(delete(ParkedUpdate).where(ParkedUpdate.update_id.in_(ids)))
    except Exception:  # handled already (processed_updates): a replay would skip it
        logger.exception("parked updates %s handled but not cleared", ids)


async def replay_parked(app: App) -> int:
    """Handle the updates that were parked when the bot stopped (Telegram will not send
    them again); returns how many there were."""
    async with app.sessionmaker() as session:
        rows = (await session.execute(select(ParkedUpdate.update_id, ParkedUpdate.payload)
                                      .order_by(ParkedUpdate.update_id))).all()
    if not rows:
        return 0
    logger.warning("%d updates were being handled when the bot stopped; handling them now",
                   len(rows))
    updates = [Update.model_validate(payload, context={"bot": app.bot})
               for _id, payload in rows]
    await asyncio.gather(*await handle_batch(app, updates))
    await _unpark(app, [update_id for update_id, _payload in rows])
    return len(rows)


async def poll(app: App, stop: asyncio.Event,
               sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    bot, dp = app.bot, app.dp
    allowed = dp.resolve_used_update_types()
    offset: int | None = None
    backoff = batch_backoff = 1.0
    parked: set[asyncio.Task[None]] = set()
    running: dict[int, asyncio.Task[None]] = {}  # per sender: order across batches
    while not stop.is_set():
        try:
            updates = await _next_batch(bot, offset, allowed, stop)
            backoff = 1.0
        except TelegramRetryAfter as exc:
            await sleep(exc.retry_after)
            continue
        except (TelegramNetworkError, TelegramServerError, OSError) as exc:
            logger.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            await sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        if updates is None:
            break
        if updates:
            try:
                still_running = await handle_batch(app, updates, running)
            except Exception:  # e.g. the database did not answer: nothing was handled
                logger.exception("a batch of %d updates could not be handled; it is fetched "
                                 "again in %.0f s", len(updates), batch_backoff)
                await sleep(batch_backoff)
                batch_backoff = min(batch_backoff * 2, MAX_BACKOFF)
                continue  # not confirmed: the same offset brings the same updates back
            batch_backoff = 1.0
            for task in still_running:
                parked.add(task)
                task.add_done_callback(parked.discard)
            offset = max(u.update_id for u in updates) + 1  # confirmed by the next call
    if parked:  # a clean stop repeats nothing: let them finish (or come back next start)
        await asyncio.wait(set(parked), timeout=PARKED_GRACE)
    if offset is not None:
        # Confirm the last handled batch before exiting, so a clean stop repeats nothing.
        try:
            await bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=allowed)
        except Exception:
            logger.info("could not confirm the last offset on shutdown; it is deduplicated")


async def _next_batch(bot: object, offset: int | None, allowed: list[str],
                      stop: asyncio.Event) -> list[Update] | None:
    """getUpdates, or None when asked to stop while waiting."""
    request = asyncio.ensure_future(bot.get_updates(
        offset=offset, timeout=25, limit=100, allowed_updates=allowed, request_timeout=35))
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({request, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if request in done:
        stopper.cancel()
        return request.result()
    request.cancel()
    return None
