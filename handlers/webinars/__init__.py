"""Webinars: the list, registration and their staff management."""

from __future__ import annotations

from bot.routing import Routes
from handlers.webinars import browse

ROUTES: tuple[Routes, ...] = (browse.routes,)
