"""Certificates: issuing, templates and verification."""

from __future__ import annotations

from bot.routing import Routes
from handlers.certificates import issue

ROUTES: tuple[Routes, ...] = (issue.routes,)
