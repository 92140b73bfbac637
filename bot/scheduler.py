"""Periodic ticks. The database holds what is due (reminders, deadlines, scheduled broadcasts,
digests); a tick finds it and acts, so nothing is lost across restarts and the scheduler
itself keeps no state. Each tick is `async def tick(app) -> None` and must be idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Tick = Callable[[Any], Awaitable[Any]]


def ticks() -> list[tuple[str, float, Tick]]:
    """(job id, interval in seconds, tick). Features add their line here."""
    from bot.notifications import coordinator_requests_tick
    from bot.services.certificates import TICK_SECONDS as certificates_every
    from bot.services.certificates import tick as certificates_tick
    from bot.services.challenges import challenges_tick
    from bot.stats_digest import digest_tick
    from bot.storage import EXPIRY_EVERY, expire_tick
    from bot.webinar_notices import webinar_reminders_tick
    from handlers.broadcast.compose import broadcasts_tick

    return [
        ("stats_digest", 60, digest_tick),
        ("broadcasts", 5, broadcasts_tick),
        ("webinar_reminders", 30, webinar_reminders_tick),
        ("certificates", certificates_every, certificates_tick),
        ("challenges", 60, challenges_tick),
        ("coordinator_requests", 60, coordinator_requests_tick),
        ("fsm_expiry", EXPIRY_EVERY, expire_tick),
    ]


def start_scheduler(app: Any) -> None:
    for job_id, seconds, tick in ticks():
        app.scheduler.add_job(_guarded, "interval", seconds=seconds, args=[job_id, tick, app],
                              id=job_id, max_instances=1, coalesce=True, replace_existing=True)
    app.scheduler.start()


async def _guarded(job_id: str, tick: Tick, app: Any) -> None:
    from bot.cluster import exclusive
    from db.inline_sqlite import offloaded

    try:
        # Background work reads SQLite from a worker thread: chats stay responsive meanwhile.
        # Several instances on PostgreSQL: one of them runs this round, the others skip it.
        with offloaded():
            async with exclusive(app.engine, f"tick:{job_id}") as mine:
                if mine:
                    await tick(app)
    except Exception:  # one failing tick must not stop the others or the next run
        logger.exception("scheduled job %s failed", job_id)


async def run_all_ticks(app: Any) -> None:
    """Every tick once (start-up catch-up, and tests)."""
    for job_id, _seconds, tick in ticks():
        await _guarded(job_id, tick, app)
