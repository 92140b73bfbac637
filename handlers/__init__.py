"""aiogram Routers, one module per feature, included in this explicit order."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Commands that work in any state first, feature flows next, the catch-all last."""
    from handlers import certificates  # noqa: I001
    from handlers import broadcast, challenges, challenges_admin, review
    from handlers import admin, common, errors, fallback, profile, registration, webinars
    from handlers import system
    from handlers import stats
    from handlers import jury
    from handlers import challenges_edit

    routers = [
        errors.router,
        system.router,
        common.router,
        registration.router,
        profile.router,
        admin.router,
        webinars.router,
        certificates.router,
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
