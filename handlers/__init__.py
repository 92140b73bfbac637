"""The conversation: aiogram handlers, one package per feature, in an explicit order.

Each feature declares its handlers with bot.routing.Routes (a package lists them in
ROUTES, in the order they are tried); setup_routers() builds fresh aiogram Routers from
them for each Dispatcher. bot/__main__.py, the tests and the benches hand it to
bot.factory.build_app.
"""

from __future__ import annotations

from aiogram import Router


def setup_routers() -> list[Router]:
    """Commands that work in any state first, feature flows next, the catch-all last.

    Certificates stand before people: /start v_<number> (a certificate's verification
    link) is theirs, any other /start is registration's.
    """
    from handlers import (
        admin,
        broadcast,
        certificates,
        challenges,
        common,
        fallback,
        people,
        shared,
        stats,
        system,
        webinars,
        weekly,
        whatsapp,
    )

    order = (*shared.ROUTES, system.routes, common.routes, *certificates.ROUTES, *people.ROUTES,
             *admin.ROUTES, *webinars.ROUTES, *challenges.ROUTES, *broadcast.ROUTES,
             stats.routes, weekly.routes, whatsapp.routes,
             fallback.routes)  # feature routes go before the fallback
    return [routes.router() for routes in order]
