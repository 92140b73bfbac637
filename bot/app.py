"""The running bot's parts, built once by bot.factory and shared by everything that serves it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.i18n import PoI18n
from bot.middlewares import FloodMiddleware
from bot.services.places import PlaceDirectory
from bot.services.stats import BoardCache
from bot.services.users import UserCache
from bot.user_changes import UserChanges
from db.base import utcnow
from db.checkpoint import WalCheckpointer

LOCAL_TOKEN = "42:local-console-token-not-for-telegram"
# Builds the conversation's routers, fresh for each Dispatcher (handlers.setup_routers).
RouterBuilder = Callable[[], list[Router]]


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
