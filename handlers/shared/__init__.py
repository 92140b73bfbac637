"""What every feature's handlers share: texts, keyboards, the menu, the error handler."""

from __future__ import annotations

from bot.routing import Routes
from handlers.shared import errors

ROUTES: tuple[Routes, ...] = (errors.routes,)
