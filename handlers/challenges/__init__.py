"""Challenges: browsing and entering, the staff wizard, management and setup, review, the
jury and its ranking.

Texts and keyboards the modules share live beside them (texts.py, jury_texts.py,
keyboards.py, media.py): no handler module imports another's handlers, except for the
views a step ends on (manage.send_manage, manage.send_staff_list)."""

from __future__ import annotations

from bot.routing import Routes
from handlers.challenges import browse, jury, manage, ranking, review, setup, wizard

# staff first (the wizard, management, then its settings), then participants, review, the jury
ROUTES: tuple[Routes, ...] = (wizard.routes, manage.routes, setup.routes, browse.routes,
                              review.routes, jury.routes, ranking.routes)
