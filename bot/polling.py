"""Long polling that loses nothing: an update is confirmed to Telegram (by asking for the next
offset) only after the whole batch it came in has been handled, and an update id already
recorded in `processed_updates` (same transaction as its handler) is skipped when Telegram
delivers it again after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from sqlalchemy import select

from db.models import ProcessedUpdate

logger = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
CONCURRENCY = 16


def sender_key(update: Update) -> int:
    """Updates of one person are handled in order; different people concurrently."""
    event = update.event
    user = getattr(event, "from_user", None)
    if user is not None:
        return user.id
    chat = getattr(event, "chat", None)
    return chat.id if chat is not None else update.update_id


async def already_processed(app: object, ids: list[int]) -> set[int]:
    async with app.sessionmaker() as session:  # type: ignore[attr-defined]
        rows = await session.scalars(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id.in_(ids)))
        return set(rows)


async def handle_update(app: object, update: Update) -> None:
    try:
        await app.dp.feed_update(app.bot, update, guard_update=True)  # type: ignore[attr-defined]
    except Exception:  # never let one bad update stop the bot
        logger.exception("update %s could not be handled", update.update_id)


async def handle_batch(app: object, updates: list[Update]) -> None:
    fresh_ids = {u.update_id for u in updates} - await already_processed(
        app, [u.update_id for u in updates])
    groups: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        if update.update_id in fresh_ids:
            groups[sender_key(update)].append(update)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def run_group(group: list[Update]) -> None:
        async with limit:
            for update in group:
                await handle_update(app, update)

    await asyncio.gather(*(run_group(g) for g in groups.values()))


async def poll(app: object, stop: asyncio.Event,
               sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    bot, dp = app.bot, app.dp  # type: ignore[attr-defined]
    allowed = dp.resolve_used_update_types()
    offset: int | None = None
    backoff = 1.0
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
            await handle_batch(app, updates)
            offset = updates[-1].update_id + 1  # confirmed by the next getUpdates call
    if offset is not None:
        # Confirm the last handled batch before exiting, so a clean stop repeats nothing.
        try:
            await bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=allowed)
        except Exception:
            logger.info("could not confirm the last offset on shutdown; it is deduplicated")


async def _next_batch(bot: object, offset: int | None, allowed: list[str],
                      stop: asyncio.Event) -> list[Update] | None:
    """getUpdates, or None when asked to stop while waiting."""
    request = asyncio.ensure_future(bot.get_updates(  # type: ignore[attr-defined]
        offset=offset, timeout=25, limit=100, allowed_updates=allowed, request_timeout=35))
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({request, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if request in done:
        stopper.cancel()
        return request.result()
    request.cancel()
    return None
