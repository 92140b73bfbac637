"""aiogram Routers, one module per feature, included in this explicit order."""

from __future__ import annotations

from aiogram import Router


def setup_routers() -> list[Router]:
    """Commands that work in any state first, feature flows next, the catch-all last.

    Certificates stand before people: /start v_<number> (a certificate's verification
    link) is theirs, any other /start is registration's."""
    from handlers import common, fallback, stats, system
    from handlers.admin import approvals as admin
    from handlers.broadcast import compose as broadcast
    from handlers.certificates import issue as certificates
    from handlers.challenges import browse as challenges
    from handlers.challenges import jury, review
    from handlers.challenges import setup as challenges_edit
    from handlers.challenges import wizard as challenges_admin
    from handlers.people import profile, registration
    from handlers.shared import errors
    from handlers.webinars import browse as webinars

    routers = [
        errors.router,
        system.router,
        common.router,
        certificates.router,
        registration.router,
        profile.router,
        admin.router,
        webinars.router,
        challenges_admin.router,
        challenges_edit.router,
        challenges.router,
        review.router,
        jury.router,
        broadcast.router,
        stats.router,
        # feature routers go here
        fallback.router,
    ]
    for router in routers:
        # Routers are module singletons; a process that builds several apps (tests, the
        # console after a restart) re-attaches them to the newest Dispatcher.
        router._parent_router = None
    return routers
