"""Challenges: browsing and entering, the staff wizard and setup, review and the jury."""

from __future__ import annotations

from bot.routing import Routes
from handlers.challenges import browse, jury, review, setup, wizard

# staff first (the wizard, then its settings), then participants, review, the jury
ROUTES: tuple[Routes, ...] = (wizard.routes, setup.routes, browse.routes, review.routes,
                              jury.routes)
