"""The current update's database sessions, for code deep in a call that cannot be handed them."""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession

current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)
# A heavy handler's read-only session (bot.middlewares): its snapshot ends before each reply.
current_reader: ContextVar[AsyncSession | None] = ContextVar("current_reader", default=None)
