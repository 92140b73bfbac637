"""People: registration, the guardian's consent and the profile."""

from __future__ import annotations

from bot.routing import Routes
from handlers.people import guardian, link, profile, registration

ROUTES: tuple[Routes, ...] = (registration.routes, guardian.routes, profile.routes,
                              link.routes)
