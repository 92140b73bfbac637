"""Engine and session factory. SQLite gets WAL + synchronous=NORMAL for write throughput, and
secure_delete so erased personal data is overwritten, not only unlinked (see db.checkpoint
for the log), and a second, read-only engine for long reads (exports, reports, rankings).
SQL parameters are never put into error messages (hide_parameters): they are people's
names, schools and texts, and error messages end up in logs.

SQLite URLs name their driver, and it is used as named:
- `sqlite+inline:///…`: the bot's own driver (db.inline_sqlite, the default): statements run
  on the event loop's thread, no hop to a worker thread per call;
- `sqlite+aiosqlite:///…`: honoured, with the same pool and pragmas, and a WARNING: the
  entry path of an update is 3.5–10× slower through it;
- `sqlite:///…` with no driver (or a sync one) is refused: `sqlite_url_problem` says why."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

import db.inline_sqlite  # noqa: F401  (registers sqlite+inline where no entry point does)

logger = logging.getLogger(__name__)
SQLITE_DRIVERS = ("inline", "aiosqlite")
AIOSQLITE_WARNING = (
    "DATABASE_URL uses sqlite+aiosqlite: every statement hops to a worker thread and back, "
    "which makes an update's database work 3.5-10x slower than sqlite+inline, the bot's own "
    "SQLite driver (same database file, same settings)")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_url_problem(url: str) -> str | None:
    """Why this SQLite URL cannot be used, or None (also for any other database, and for
    text that is no URL at all: that is reported where it is used)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.get_driver_name() in SQLITE_DRIVERS:
        return None
    problem = (f"{parsed.drivername} is not an async driver" if "+" in parsed.drivername
               else "a SQLite URL must name its driver")
    return (f"{problem}: choose sqlite+inline (the bot's own, the fast one) or "
            "sqlite+aiosqlite, e.g. sqlite+inline:///data/bot.db")


def check_url(url: str) -> None:
    problem = sqlite_url_problem(url)
    if problem is not None:
        raise ValueError(problem)


def ensure_sqlite_folder(url: str) -> None:
    db = make_url(url).database
    if is_sqlite(url) and db and db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA secure_delete=ON")  # deleted and changed rows are zeroed on disk
    cur.close()


def create_engine(url: str, echo: bool = False, pool_timeout: float = 60) -> AsyncEngine:
    check_url(url)
    ensure_sqlite_folder(url)
    if is_sqlite(url):
        if make_url(url).get_driver_name() == "aiosqlite":
            logger.warning(AIOSQLITE_WARNING)
        # One connection, sessions take turns: SQLite has one writer anyway, and a second
        # connection upgrading a read to a write fails at once with SQLITE_BUSY_SNAPSHOT.
        # bot.middlewares commits before every Bot API call, so no turn waits on the network.
        # Never open a second session while holding one in the same task: it would wait forever.
        # With sqlite+inline, statements run on the loop's thread: no thread hop per call.
        memory = make_url(url).database in (None, "", ":memory:")
        pool = {"poolclass": StaticPool} if memory else {
            "poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0,
            "pool_timeout": pool_timeout,
            # Sessions and connections end their own transactions (commit, or rollback on
            # close); a second rollback on every return to the pool is pure overhead.
            "pool_reset_on_return": None,
        }
        engine = create_async_engine(url, echo=echo, hide_parameters=True, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True,
                               hide_parameters=True)


READERS = 2  # long reads side by side; more would only share the same 2 cores


def _read_only_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")  # as the writer sets it: readers never block it
    cur.execute("PRAGMA query_only=ON")  # a write through here is a bug: fail loudly
    cur.close()


def create_read_engine(url: str, pool_timeout: float = 60) -> AsyncEngine | None:
    """Connections for long reads, or None where the writer's pool serves them as well.

    SQLite in WAL mode lets readers run beside the one writer, each on a snapshot taken at
    its first statement: a report that reads for seconds no longer holds the connection
    every button press needs (db.engine.create_engine has just one). PostgreSQL's pool is
    concurrent already, and an in-memory database has nothing to share a snapshot with.
    """
    check_url(url)
    if not is_sqlite(url) or make_url(url).database in (None, "", ":memory:"):
        return None
    ensure_sqlite_folder(url)
    engine = create_async_engine(  # the writer's driver, as DATABASE_URL names it
        url, poolclass=AsyncAdaptedQueuePool, pool_size=READERS, max_overflow=0,
        pool_timeout=pool_timeout, pool_reset_on_return="rollback", hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _read_only_pragmas)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
