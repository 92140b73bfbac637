"""Administration: approvals, staff invites, links and districts."""

from __future__ import annotations

from bot.routing import Routes
from handlers.admin import approvals, districts, invites, orgs, staff

ROUTES: tuple[Routes, ...] = (approvals.routes, invites.routes, staff.routes, districts.routes,
                              orgs.routes)
