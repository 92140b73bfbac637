from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from tests import pg
from tests.harness import (
    BotHarness,
    Clock,
    database_for,
    drop_server_databases,
    make_harness,
    on_postgres,
)

if TYPE_CHECKING:
    from tests.wa_harness import WaHarness

os.environ.pop("BOT_TOKEN", None)
STAFF_ID = 900


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pytest_report_header() -> str:
    if on_postgres():
        server = os.environ.get("TEST_POSTGRES_URL", "(TEST_POSTGRES_URL not set)")
        return f"database: PostgreSQL at {server}"
    return "database: SQLite (TEST_DB=postgres runs the suite on PostgreSQL)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): tests SQLite itself (WAL, "
                            "checkpoints, the inline driver, files); skipped on PostgreSQL")


def pytest_sessionstart(session: pytest.Session) -> None:
    """A server named but not answering fails the run: a pass that quietly falls back to
    SQLite, or skips, would report PostgreSQL as tested when it was not."""
    problem = servers_problem()
    if problem:
        pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)


def servers_problem() -> str | None:
    import asyncio

    url = os.environ.get(pg.ENV)
    if on_postgres() and not url:
        return f"TEST_DB=postgres needs {pg.ENV}"
    checks = [(pg.ENV, url, pg.check_server)] if url else []
    if redis := os.environ.get("TEST_REDIS_URL"):
        checks.append(("TEST_REDIS_URL", redis, _check_redis))
    for name, value, check in checks:
        try:
            asyncio.run(check(value))
        except Exception as exc:  # any failure to answer: name it and stop
            return f"{name} is set but unreachable ({value}): {type(exc).__name__}: {exc}"
    return None


async def _check_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not on_postgres():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "tests SQLite itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(autouse=True)
async def drop_server_databases_after_the_test() -> AsyncIterator[None]:
    """TEST_DB=postgres: the databases a test's paths stood for go when the test ends."""
    yield
    await drop_server_databases()


@pytest.fixture
async def db_url(tmp_path) -> str:
    """A fresh migrated database: SQLite by default, PostgreSQL with TEST_DB=postgres."""
    return await database_for(str(tmp_path / "bot.db"))


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}))
    yield harness
    await harness.close()


@pytest.fixture
async def quick_h(db_url, clock) -> AsyncIterator[BotHarness]:
    """The harness without the flood limit: wizards and walks are many quick updates."""
    harness = await make_harness(db_url, clock,
                                 staff_ids=frozenset({STAFF_ID}), flood_limit=100_000)
    yield harness
    await harness.close()


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    """The harness with WhatsApp attached (staff 900, no flood limit in the way). Modules
    that need the delivery queue's clock and approved templates define their own."""
    from tests.wa_harness import WA_SETTINGS, attach_whatsapp

    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 flood_limit=1000, **WA_SETTINGS)
    wa = await attach_whatsapp(harness)
    yield wa
    await wa.close()
    await harness.close()
