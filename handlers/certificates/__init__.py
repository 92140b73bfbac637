"""Certificates: issuing, templates (issue) and verification (verify)."""

from __future__ import annotations

from bot.routing import Routes
from handlers.certificates import issue, mine, verify

ROUTES: tuple[Routes, ...] = (issue.routes, verify.routes, mine.routes)
