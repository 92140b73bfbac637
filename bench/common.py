"""Shared bench helpers: a migrated temporary database, the production app, memory readings."""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path

from bot.app import App
from bot.config import Settings
from bot.factory import build_app, prepare, settle_memory
from bot.local_api import LocalSession
from db.migrate import upgrade_async
from handlers import setup_routers


def rss_mb() -> float:
    """Current resident memory of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench_app(**settings: object) -> tuple[App, LocalSession, str]:
    folder = tempfile.mkdtemp(prefix="bench-")
    url = f"sqlite+inline:///{folder}/bench.db"
    await upgrade_async(url)
    api = LocalSession(strict=False)  # the bot's own cost, not Telegram's checks
    app = build_app(Settings(database_url=url, _env_file=None, **settings),
                    routers=setup_routers, session=api)
    await prepare(app)
    settle_memory()  # as the bot's start-up does (bot.factory._on_startup)
    return app, api, folder
