from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests import pg
from tests.harness import DB_ALIASES, BotHarness, Clock, make_harness

os.environ.pop("BOT_TOKEN", None)
STAFF_ID = 900


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pytest_report_header() -> str:
    if os.environ.get("TEST_DB") == "postgres":
        server = os.environ.get("TEST_POSTGRES_URL", "(TEST_POSTGRES_URL not set)")
        return f"database: PostgreSQL at {server}"
    return "database: SQLite (TEST_DB=postgres runs the suite on PostgreSQL)"


@pytest.fixture
async def db_url(tmp_path) -> AsyncIterator[str]:
    """A fresh migrated database: SQLite by default, PostgreSQL with TEST_DB=postgres."""
    if os.environ.get("TEST_DB") == "postgres":
        async with pg.fresh_database() as url:
            DB_ALIASES[str(tmp_path / "bot.db")] = url
            yield url
            DB_ALIASES.pop(str(tmp_path / "bot.db"), None)
    else:
        yield str(tmp_path / "bot.db")


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}))
    yield harness
    await harness.close()


@pytest.fixture
async def quick_h(tmp_path, clock) -> AsyncIterator[BotHarness]:
    """The harness on SQLite without the flood limit: wizards and walks are many quick updates."""
    harness = await make_harness(str(tmp_path / "bot.db"), clock,
                                 staff_ids=frozenset({STAFF_ID}), flood_limit=100_000)
    yield harness
    await harness.close()
