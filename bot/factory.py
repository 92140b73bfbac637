"""Builds the whole object graph once; production, the console and tests share it."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.aiogram_internals import GatedDispatcher
from bot.app import LOCAL_TOKEN, App, HandlerData, RouterBuilder
from bot.channels import Channel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.datadir import use_data_folder
from bot.delivery import worker_for
from bot.i18n import create_i18n
from bot.limits import FitToLimits
from bot.local_api import LocalSession
from bot.middlewares import (
    AccessMiddleware,
    CommitBeforeRequest,
    DbSessionMiddleware,
    DomainErrors,
    FloodMiddleware,
    HeavyRuns,
    RetryOnTimeout,
    UserContextMiddleware,
)
from bot.ratelimit_redis import shared_limiter
from bot.routing import optimise_routing
from bot.services import certificates
from bot.services.places import PlaceDirectory
from bot.services.users import UserCache
from bot.storage import FSM_TTL, SqlStorage
from bot.user_changes import ALONE_TTL, UserChanges
from db.base import utcnow
from db.engine import create_engine, create_read_engine, create_sessionmaker, is_sqlite

logger = logging.getLogger(__name__)


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


def build_app(settings: Settings, *, routers: RouterBuilder,
              session: BaseSession | None = None) -> App:
    """The Bot, Dispatcher, storage, scheduler and workers; nothing is started here.

    `routers` builds the conversation's routers (handlers.setup_routers): bot/ never imports
    handlers/, the launcher (bot.__main__), the tests and the benches hand it over."""
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
                                  # "<REDIS_PREFIX>:delivery": "bot:delivery" by default
                                  limiter=shared_limiter(
                                      settings.redis_url, settings.delivery_rate, local,
                                      prefix=f"{settings.redis_prefix}:delivery"),
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
    for observer in (dp.message, dp.callback_query):  # inside the callback's answer
        observer.middleware(DomainErrors(dp))
    given: HandlerData = {"app": app, "settings": settings, "i18n": i18n, "users": users,
                          "places": app.places, "clock": app.now, "locks": app.locks,
                          "heavy_runs": HeavyRuns(), "boards": app.boards,
                          "verify_misses": app.verify_misses, "channels": app.channels,
                          "challenge_notices": app.challenge_notices}
    dp.workflow_data.update(given)
    dp.include_routers(*routers())
    optimise_routing(dp)
    dp.startup.register(_on_startup)
    return app


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


async def _on_startup(app: App) -> None:
    await app.prepare()
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
    await app.prepare()
