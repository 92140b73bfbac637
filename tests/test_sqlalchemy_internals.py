"""What db/inline_sqlite.py takes from SQLAlchemy beyond its public API, checked one by one.

When a SQLAlchemy upgrade changes one of these, the test that fails says which part of
db/inline_sqlite.py to re-check, instead of the bot failing somewhere in an update.
"""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import db.inline_sqlite as inline
from db.engine import create_engine, create_sessionmaker

pytestmark = pytest.mark.sqlite_only("the inline SQLite driver")
RECHECK = "SQLAlchemy changed what db/inline_sqlite.py relies on: re-check "


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+inline:///{tmp_path}/x.db")
    yield engine
    await engine.dispose()


def test_the_greenlet_helpers_exist():
    from sqlalchemy.util import concurrency

    for name in ("await_", "in_greenlet"):
        assert callable(getattr(concurrency, name, None)), \
            RECHECK + f"_call and _touch_loop: sqlalchemy.util.concurrency.{name} is gone"
    assert concurrency.in_greenlet() is False, RECHECK + "in_greenlet outside a greenlet"


def test_create_async_engine_still_refuses_sync_drivers_and_takes_ours():
    """Guard 1: InlineSQLiteDialect.is_async = True is what lets the sync pysqlite in."""
    with pytest.raises(exc.InvalidRequestError, match="async driver"):
        create_async_engine("sqlite+pysqlite://")
    assert create_async_engine("sqlite+inline://").dialect.is_async, \
        RECHECK + "InlineSQLiteDialect.is_async"


async def test_without_touching_the_loop_the_await_guard_refuses(engine, monkeypatch):
    """Guard 2: AsyncConnection insists that the driver awaited; _touch_loop does that."""
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1
        monkeypatch.setattr(inline, "_touch_loop", lambda: None)
        with pytest.raises(exc.AwaitRequired):
            await conn.execute(text("SELECT 1"))


async def test_async_results_soft_close_the_cursor(engine, monkeypatch):
    closed = []

    async def spy(cursor):
        closed.append(cursor)

    monkeypatch.setattr(inline.InlineCursor, "_async_soft_close", spy)
    async with create_sessionmaker(engine)() as session:
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
    assert closed and isinstance(closed[0], inline.InlineCursor), \
        RECHECK + "InlineCursor._async_soft_close (no longer called)"


async def test_server_side_cursors_come_from_the_contexts_connection(engine, monkeypatch):
    """_ExecutionContext.create_server_side_cursor reads `_dbapi_connection`; AsyncSession
    .stream() (bot.copydb) takes that path."""
    seen = []
    original = inline._ExecutionContext.create_server_side_cursor

    def spy(context):
        seen.append(hasattr(context, "_dbapi_connection"))
        return original(context)

    monkeypatch.setattr(inline._ExecutionContext, "create_server_side_cursor", spy)
    async with create_sessionmaker(engine)() as session:
        rows = await session.stream(text("SELECT 1 UNION ALL SELECT 2"))
        assert [r[0] async for r in rows] == [1, 2]
    assert seen == [True], RECHECK + "_ExecutionContext._dbapi_connection"


def test_the_pool_is_picked_as_pysqlite_picks_it():
    assert callable(getattr(SQLiteDialect_pysqlite, "_is_url_file_db", None)), \
        RECHECK + "InlineSQLiteDialect.get_pool_class: _is_url_file_db is gone"
    file_url, memory_url = make_url("sqlite+inline:///x.db"), make_url("sqlite+inline://")
    assert inline.InlineSQLiteDialect.get_pool_class(file_url).__name__ == "AsyncAdaptedQueuePool"
    assert inline.InlineSQLiteDialect.get_pool_class(memory_url).__name__ == "StaticPool"
