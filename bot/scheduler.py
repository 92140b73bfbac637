"""Periodic ticks. The database holds what is due (reminders, deadlines, scheduled broadcasts,
digests); a tick finds it and acts, so nothing is lost across restarts and the scheduler
itself keeps no state. Each tick is `async def tick(app: App) -> None` and must be idempotent.
The notices' ticks live in bot.notices; the others are here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.app import App

logger = logging.getLogger(__name__)

Tick = Callable[[App], Awaitable[Any]]


def ticks() -> list[tuple[str, float, Tick]]:
    """(job id, interval in seconds, tick). Features add their line here."""
    from bot.notices.approvals import coordinator_requests_tick
    from bot.notices.broadcasts import broadcasts_tick
    from bot.notices.challenges import challenges_tick
    from bot.notices.digest import digest_tick
    from bot.notices.webinars import webinar_reminders_tick
    from bot.notices.weekly import weekly_reminder_tick
    from bot.services.certificates import TICK_SECONDS as certificates_every
    from bot.storage import EXPIRY_EVERY

    return [
        ("stats_digest", 60, digest_tick),
        ("broadcasts", 5, broadcasts_tick),
        ("webinar_reminders", 30, webinar_reminders_tick),
        ("certificates", certificates_every, certificates_tick),
        ("challenges", 60, challenges_tick),
        ("coordinator_requests", 60, coordinator_requests_tick),
        ("weekly_reminder", 60, weekly_reminder_tick),
        ("fsm_expiry", EXPIRY_EVERY, expire_tick),
        ("whatsapp_strangers", 3600, whatsapp_strangers_tick),
    ]


async def certificates_tick(app: App) -> None:
    """Keep certificates flowing into the queue (bot.services.certificates.tick); their QR
    links lead to the public page (PUBLIC_BASE_URL) or else name the bot, asked of Telegram
    here, not in the service."""
    from bot.services import certificates

    link_base = app.settings.public_base_url or (await app.bot.me()).username or ""
    await certificates.tick(app.sessionmaker, app.translator, link_base,
                            app.settings.tz, app.now(), app.settings.delivery_rate)


async def expire_tick(app: App) -> None:
    """Flows nobody touched for FSM_TTL end (RedisStorage expires its keys by itself)."""
    from bot.storage import FSM_TTL, SqlStorage

    if isinstance(app.storage, SqlStorage):
        await app.storage.expire(app.now() - FSM_TTL)


async def whatsapp_strangers_tick(app: App) -> None:
    """WhatsApp contacts who never registered are forgotten, with the files they sent,
    WHATSAPP_CONTACT_RETENTION_DAYS after their last message (bot.services.identity); and
    messages owed in full longer than a week are owed no more (bot.services.owed)."""
    from bot.services import identity, owed

    async with app.sessionmaker() as session:
        await owed.purge(session, app.now())
        await session.commit()
    silent_since = app.now() - timedelta(days=app.settings.whatsapp_contact_retention_days)
    batch = identity.STRANGERS_BATCH
    while True:  # batches, each its own transaction (their files go as it commits)
        async with app.sessionmaker() as session:
            gone = await identity.forget_strangers(session, silent_since, batch)
            await session.commit()
        contacts = getattr(app.channels.get("whatsapp"), "contacts", None)
        for ext_id in gone:
            if contacts is not None:
                contacts.forget(ext_id)
        if gone:
            logger.info("forgot %d WhatsApp contacts who never registered", len(gone))
        if len(gone) < batch:
            return


def start_scheduler(app: App) -> None:
    for job_id, seconds, tick in ticks():
        app.scheduler.add_job(_guarded, "interval", seconds=seconds, args=[job_id, tick, app],
                              id=job_id, max_instances=1, coalesce=True, replace_existing=True)
    app.scheduler.start()


async def _guarded(job_id: str, tick: Tick, app: App) -> None:
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


async def run_all_ticks(app: App) -> None:
    """Every tick once (start-up catch-up, and tests)."""
    for job_id, _seconds, tick in ticks():
        await _guarded(job_id, tick, app)
