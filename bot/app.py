"""The running bot's parts (App), built once by bot.factory and shared by everything that
serves it, and the data a handler may ask for by name (HandlerData). Imports nothing from
handlers/: they import it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels import Channel
from bot.config import Settings
from bot.db_context import current_session
from bot.delivery import DeliveryWorker
from bot.i18n import PoI18n
from bot.metrics import Metrics
from bot.middlewares import FloodMiddleware, HeavyRuns
from bot.notices import Voice
from bot.notices.challenges import ChallengeNotices
from bot.services.certificates.verify import VerifyMisses
from bot.services.places import PlaceDirectory
from bot.services.stats import BoardCache
from bot.services.users import UserCache, UserInfo
from bot.translator import Translator
from bot.user_changes import UserChanges
from db.base import utcnow
from db.checkpoint import WalCheckpointer

LOCAL_TOKEN = "42:local-console-token-not-for-telegram"
# Builds the conversation's routers, fresh for each Dispatcher (handlers.setup_routers).
RouterBuilder = Callable[[], list[Router]]


class KeyedLocks:
    """One asyncio.Lock per key (a person's id): their updates that must not interleave,
    such as the parts of an album, take turns; everyone else goes on."""

    LIMIT = 10_000  # forgotten all at once beyond this: a lock only matters while it is held

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def __call__(self, key: int) -> asyncio.Lock:
        if len(self._locks) > self.LIMIT:
            self._locks.clear()
        return self._locks.setdefault(key, asyncio.Lock())


@dataclass
class App:
    """The bot's parts; handlers name the ones they need (HandlerData) rather than `app`."""

    settings: Settings
    bot: Bot
    dp: Dispatcher
    engine: AsyncEngine
    sessionmaker: async_sessionmaker
    i18n: PoI18n
    users: UserCache
    places: PlaceDirectory
    storage: BaseStorage
    scheduler: AsyncIOScheduler
    delivery: DeliveryWorker
    clock: Callable[[], datetime] = utcnow
    locks: KeyedLocks = field(default_factory=KeyedLocks)  # one flow step at a time
    metrics: Metrics | None = None  # the webhook server's counters (bot.webhook.metrics_of)
    # texts of the broadcasts' live progress messages, as last shown (edited only on change)
    progress_shown: dict[int, str] = field(default_factory=dict)
    # /verify numbers that matched nothing, per person (handlers/certificates)
    verify_misses: VerifyMisses = field(default_factory=VerifyMisses)
    checkpointer: WalCheckpointer | None = None
    redis: Redis | None = None  # flood control and user changes (REDIS_URL)
    user_changes: UserChanges | None = None  # several instances: see bot.user_changes
    flood: FloodMiddleware | None = None
    # Long reads (HEAVY_DB handlers, digests): SQLite's read-only connections; None where
    # the writer's pool serves readers too (PostgreSQL).
    read_engine: AsyncEngine | None = None
    read_sessionmaker: async_sessionmaker | None = None
    boards: BoardCache = field(default_factory=BoardCache)
    channels: dict[str, Channel] = field(default_factory=dict)  # name → Channel (bot.channels)

    def now(self) -> datetime:
        return self.clock()

    @property
    def translator(self) -> Translator:
        """The one translator of services, notices and keyboards (bot.translator)."""
        return self.i18n.translator

    @property
    def voice(self) -> Voice:
        """How notices speak (bot.notices.Voice)."""
        return Voice(self.i18n.translator, self.settings.tz, self.settings.default_locale)

    @property
    def challenge_notices(self) -> ChallengeNotices:
        """The challenges' messages to other people, for the services that queue them."""
        return ChallengeNotices(self.voice)

    def read_session(self) -> AsyncSession:
        """A session for a long read that writes nothing (see read_sessionmaker)."""
        return (self.read_sessionmaker or self.sessionmaker)()

    async def prepare(self) -> None:
        """What start-up does before the first update: WAL checkpoints, other instances'
        user changes, the places, STAFF_IDS (bot.factory runs it, then publishes the
        commands; tests and benches call it themselves)."""
        self.start_checkpoints()
        if self.user_changes is not None:
            await self.user_changes.start()
        async with self.sessionmaker() as session:
            await self.places.load(session)
        await self.bootstrap_staff()

    def start_checkpoints(self) -> None:
        """SQLite's log is copied back to the database file by a thread, not in a commit."""
        if self.checkpointer is None:
            self.checkpointer = WalCheckpointer.for_url(self.settings.database_url)
        if self.checkpointer is not None:
            self.checkpointer.start()

    async def bootstrap_staff(self) -> None:
        """STAFF_IDS become staff in the database (never one revoked by /demote); the log
        says who is staff beyond STAFF_IDS (bot.services.staff)."""
        from bot.services.staff import bootstrap, log_bootstrap

        async with self.sessionmaker() as session:
            # as in an update: other instances hear of the new staff once this commits, not
            # before (they would read the old row again and keep it)
            token = current_session.set(session)
            try:
                report = await bootstrap(session, self.users, self.settings.staff_ids,
                                         self.settings.staff_whatsapp)
                await session.commit()
            finally:
                current_session.reset(token)
        log_bootstrap(report)

    async def close(self) -> None:
        try:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            await self.storage.close()
            for limiter in (self.delivery.limiter, *self.delivery.limiters.values()):
                close_limiter = getattr(limiter, "close", None)  # the Redis ones
                if close_limiter is not None:
                    await close_limiter()
            if self.user_changes is not None:
                await self.user_changes.close()
            if self.redis is not None:
                await self.redis.aclose()
            await self.bot.session.close()
        finally:
            try:
                await self.engine.dispose()
                if self.read_engine is not None:
                    await self.read_engine.dispose()
            finally:
                if self.checkpointer is not None:  # waits for a checkpoint under way
                    await asyncio.to_thread(self.checkpointer.stop)


class HandlerData(TypedDict, total=False):
    """Every key of ours a handler may name as a parameter, with its type. bot.factory sets
    the first group on the Dispatcher, the middlewares the second (bot.middlewares);
    aiogram adds its own (event_from_user, state, command, callback_data, ...)."""

    app: App
    settings: Settings
    i18n: PoI18n
    users: UserCache
    places: PlaceDirectory
    clock: Callable[[], datetime]
    locks: KeyedLocks
    heavy_runs: HeavyRuns
    boards: BoardCache  # the leaderboards kept a few minutes (/leaderboard)
    verify_misses: VerifyMisses  # /verify numbers that matched nothing, per person
    challenge_notices: ChallengeNotices  # the challenges' messages to other people
    channels: dict[str, Channel]  # the messengers (WhatsApp's joins when it is built)
    # per update
    session: AsyncSession
    read_session: AsyncSession | None  # HEAVY_DB handlers only (bot.middlewares.HeavyReads)
    user: UserInfo | None
    role: str
    locale: str
    failed_flags: dict[str, object]  # errors handlers: the failed handler's flags
