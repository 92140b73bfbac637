"""SQLite URLs name their driver and get it: sqlite+inline (the bot's own, on the loop's
thread, the default), sqlite+aiosqlite (as written, with a warning), and nothing else."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points

import pytest
from sqlalchemy import event, text

from bot.config import ConfigError, Settings, load_settings
from db.engine import create_engine, create_read_engine, create_sessionmaker
from db.inline_sqlite import InlineSQLiteDialect
from db.migrate import upgrade_async
from tests.harness import make_harness

pytestmark = pytest.mark.sqlite_only("SQLite's drivers")


def with_thread_id(engine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_conn, _record):
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)


async def thread_of_a_statement(engine) -> int:
    with_thread_id(engine)
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.scalar(text("SELECT thread_id()"))
    finally:
        await engine.dispose()


async def test_inline_runs_on_the_loop_thread_without_a_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="db.engine")
    engine = create_engine(f"sqlite+inline:///{tmp_path}/x.db")
    assert engine.dialect.driver == "inline"
    assert await thread_of_a_statement(engine) == threading.get_ident()
    assert not caplog.records


async def test_aiosqlite_is_honoured_off_the_loop_thread_and_warned_about(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="db.engine")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert engine.dialect.driver == "aiosqlite"
    assert await thread_of_a_statement(engine) != threading.get_ident()
    [warning] = caplog.records
    assert warning.levelname == "WARNING"
    assert "sqlite+aiosqlite" in warning.getMessage() and "sqlite+inline" in warning.getMessage()


async def test_the_long_read_connections_use_the_named_driver_too(tmp_path):
    for driver in ("inline", "aiosqlite"):
        url = f"sqlite+{driver}:///{tmp_path}/{driver}.db"
        await upgrade_async(url)
        reader = create_read_engine(url)
        assert reader is not None and reader.dialect.driver == driver
        await reader.dispose()


async def test_the_bot_runs_on_aiosqlite_when_told_to(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    await upgrade_async(url)  # the migrations through aiosqlite as well
    h = await make_harness(url)
    try:
        assert h.app.engine.dialect.driver == "aiosqlite"
        assert h.app.read_engine.dialect.driver == "aiosqlite"
        await h.user(101).send("/start")
        assert h.api.texts(101)  # the bot answered, through aiosqlite
    finally:
        await h.close()


@pytest.mark.parametrize("url", ["sqlite:///data/bot.db", "sqlite://",
                                 "sqlite+pysqlite:///data/bot.db"])
def test_a_sqlite_url_without_an_async_driver_is_a_config_error(url):
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, database_url=url)
    message = str(refused.value)
    assert message.startswith("DATABASE_URL: ")
    assert "sqlite+inline" in message and "sqlite+aiosqlite" in message
    with pytest.raises(ValueError, match="sqlite\\+inline"):
        create_engine(url)


def test_inline_is_the_default_and_other_databases_pass():
    assert Settings(_env_file=None).database_url == "sqlite+inline:///data/bot.db"
    url = "postgresql+asyncpg://bot@db.internal:5432/parliament"
    assert load_settings(_env_file=None, database_url=url).database_url == url


def test_inline_is_a_sqlalchemy_dialect_entry_point():
    """Alembic's CLI (or any tool) opens sqlite+inline without importing our modules."""
    [point] = [p for p in entry_points(group="sqlalchemy.dialects") if p.name == "sqlite.inline"]
    assert point.load() is InlineSQLiteDialect
