"""Builds the whole object graph once; production, the console and tests share it."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels import Channel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.datadir import use_data_folder
from bot.db_context import current_session
from bot.delivery import DeliveryWorker, worker_for
from bot.i18n import PoI18n, create_i18n
from bot.limits import FitToLimits
from bot.local_api import LocalSession
from bot.middlewares import (
    AccessMiddleware,
    CommitBeforeRequest,
    DbSessionMiddleware,
    FloodMiddleware,
    HeavyRuns,
    RetryOnTimeout,
    UserContextMiddleware,
    offload_heavy_handlers,
)
from bot.ratelimit_redis import shared_limiter
from bot.routing import GatedDispatcher, optimise_routing
from bot.services import certificates
from bot.services.places import PlaceDirectory
from bot.services.stats import BoardCache
from bot.services.users import UserCache
from bot.storage import FSM_TTL, SqlStorage
from bot.user_changes import ALONE_TTL, UserChanges
from db.base import utcnow
from db.checkpoint import WalCheckpointer
from db.engine import create_engine, create_read_engine, create_sessionmaker, is_sqlite

logger = logging.getLogger(__name__)
LOCAL_TOKEN = "42:local-console-token-not-for-telegram"


@dataclass
class App:
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
    extras: dict[str, Any] = field(default_factory=dict)
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

    def read_session(self) -> AsyncSession:
        """A session for a long read that writes nothing (see read_sessionmaker)."""
        return (self.read_sessionmaker or self.sessionmaker)()

    async def close(self) -> None:
        try:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            await self.storage.close()
            close_limiter = getattr(self.delivery.limiter, "close", None)  # the Redis one
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


def make_bot_session(settings: Settings) -> BaseSession:
    if settings.token is None:
        return LocalSession()
    if settings.bot_api_base_url:
        server = TelegramAPIServer.from_base(settings.bot_api_base_url.rstrip("/"))
        return AiohttpSession(api=server)
    return AiohttpSession()


def make_storage(settings: Settings, sessionmaker: async_sessionmaker,
                 clock: Callable[[], datetime] = utcnow) -> BaseStorage:
    """FSM storage; answers left half-way expire FSM_TTL after their last write."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url, state_ttl=FSM_TTL, data_ttl=FSM_TTL)
    return SqlStorage(sessionmaker, clock=clock)


def build_app(settings: Settings, session: BaseSession | None = None) -> App:
    """The Bot, Dispatcher, storage, scheduler and workers; nothing is started here."""
    from handlers import get_routers

    use_data_folder(settings.data_folder)  # caches (certificate backgrounds) go there
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    read_engine = create_read_engine(settings.database_url)
    bot_session = session or make_bot_session(settings)
    bot_session.middleware(FitToLimits())  # outermost: each part of a split is one request
    bot_session.middleware(CommitBeforeRequest())
    bot = Bot(settings.token or LOCAL_TOKEN, session=bot_session,
              default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True))
    # `app` is bound below; the storage asks it for the time only when it writes
    storage = make_storage(settings, sessionmaker, clock=lambda: app.now())
    i18n = create_i18n(settings.default_locale)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    users, user_changes = user_cache(settings, redis)
    # FSM is registered below, inside the session middleware: the state is read in the
    # update's own session, not in a second one.
    dp = GatedDispatcher(storage=storage, disable_fsm=True)
    local = isinstance(bot_session, LocalSession)
    channels: dict[str, Channel] = {"telegram": TelegramChannel(bot)}
    app = App(settings=settings, bot=bot, dp=dp, engine=engine, sessionmaker=sessionmaker,
              i18n=i18n, users=users, places=PlaceDirectory(), storage=storage,
              scheduler=AsyncIOScheduler(timezone="UTC"),
              delivery=worker_for(channels, sessionmaker, settings.delivery_rate, local,
                                  limiter=shared_limiter(settings.redis_url,
                                                         settings.delivery_rate, local),
                                  makers={"certificate": certificates.make_document}),
              channels=channels,
              redis=redis, user_changes=user_changes,
              flood=FloodMiddleware(settings.flood_limit, settings.flood_window, redis,
                                    prefix=f"{settings.redis_prefix}:flood"),
              read_engine=read_engine,
              read_sessionmaker=create_sessionmaker(read_engine) if read_engine else None)
    app.boards.clock = app.now
    dp.update.outer_middleware(RetryOnTimeout(i18n, users, settings.default_locale))
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(UserContextMiddleware(i18n, users, settings.default_locale))
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(app.flood)
        observer.outer_middleware(AccessMiddleware())
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    dp["app"] = app
    dp["settings"] = settings
    dp["i18n"] = i18n
    dp["users"] = users
    dp["places"] = app.places
    dp["heavy_runs"] = HeavyRuns()
    dp.include_routers(*get_routers())
    optimise_routing(dp)
    offload_heavy_handlers(dp)
    from handlers.certificates import verify_reply

    app.extras["verify_handler"] = verify_reply  # /start v_<number>
    dp.startup.register(_on_startup)
    return app


async def bootstrap_staff(app: App) -> None:
    """STAFF_IDS become staff in the database (never one revoked by /demote); the log says
    who is staff beyond STAFF_IDS (bot.services.staff)."""
    from bot.services.staff import bootstrap, log_bootstrap

    async with app.sessionmaker() as session:
        # as in an update: other instances hear of the new staff once this commits, not
        # before (they would read the old row again and keep it)
        token = current_session.set(session)
        try:
            report = await bootstrap(session, app.users, app.settings.staff_ids)
            await session.commit()
        finally:
            current_session.reset(token)
    log_bootstrap(report)


def user_cache(settings: Settings, redis: Redis | None,
               ) -> tuple[UserCache, UserChanges | None]:
    """One process (SQLite, the lock file sees to it): the cache needs no expiry. Several
    (a server database): copies expire, and with Redis every change is announced at once."""
    if is_sqlite(settings.database_url):
        return UserCache(), None
    users = UserCache(ttl=ALONE_TTL)
    if redis is None:
        return users, None
    return users, UserChanges(users, redis, f"{settings.redis_prefix}:users:changed")


async def start_user_changes(app: App) -> None:
    if app.user_changes is not None:
        await app.user_changes.start()


def start_checkpoints(app: App) -> None:
    """SQLite's log is copied back to the database file by a thread, not in a commit."""
    if app.checkpointer is None:
        app.checkpointer = WalCheckpointer.for_url(app.settings.database_url)
    if app.checkpointer is not None:
        app.checkpointer.start()


async def _on_startup(app: App) -> None:
    start_checkpoints(app)
    await start_user_changes(app)
    async with app.sessionmaker() as session:
        await app.places.load(session)
    await bootstrap_staff(app)
    from bot.commands import publish_commands

    await publish_commands(app.bot, app.i18n)
    settle_memory()
    logger.info("bot started")


def settle_memory() -> None:
    """Move everything loaded at start-up (aiogram's and pydantic's models, SQLAlchemy's
    mappers: ~1M objects) out of the garbage collector's sight: full collections then scan
    only what updates allocate (about +5 % updates/s). Once per process — tests, which build
    many apps in one process, do not call it."""
    gc.collect()
    gc.freeze()


async def prepare(app: App) -> None:
    """What startup does, for callers that feed updates without starting polling (tests)."""
    start_checkpoints(app)
    await start_user_changes(app)
    async with app.sessionmaker() as session:
        await app.places.load(session)
    await bootstrap_staff(app)
