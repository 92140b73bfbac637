"""Broadcasts: composing, sending and managing them."""

from __future__ import annotations

from bot.routing import Routes
from handlers.broadcast import compose

ROUTES: tuple[Routes, ...] = (compose.routes,)
