"""Webinars: the list, registration and their staff management.

browse (participants), wizard (/newwebinar), manage (edit, cancel, registrants, export), in
this order: manage's catch-all for the wizard's buttons comes after every handler of them.
cards, steps, texts and keyboards are what they share.
"""

from __future__ import annotations

from bot.routing import Routes
from handlers.webinars import browse, manage, wizard

ROUTES: tuple[Routes, ...] = (browse.routes, wizard.routes, manage.routes)
