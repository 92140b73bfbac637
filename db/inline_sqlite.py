"""SQLite for the async engine without a thread hop per call: the `sqlite+inline` dialect.

Why: the bot talks to SQLite through one connection (see db.engine), so statements never run
side by side anyway, and a bot statement takes microseconds. aiosqlite hands every call to a
worker thread and back (two loop wake-ups, a GIL hand-over) behind an adapter that awaits
each call, which made that machinery — not SQLite — most of the database cost of an update
(a five-statement transaction: ~2 ms through aiosqlite, ~0.3 ms here).

This is SQLAlchemy's own pysqlite dialect, marked as async: the async engine runs it inside
its greenlets exactly like the sync engine runs it, with the standard library's sqlite3.
Heavy reads (exports, reports, background ticks) can still leave the loop free with
`offloaded()`: inside it every call goes to a worker thread, as aiosqlite would do.

Chosen by the URL: `sqlite+inline:///data/bot.db` (db.engine refuses a SQLite URL without
an async driver, and honours `sqlite+aiosqlite` as written).

What it takes from SQLAlchemy beyond its public API (each checked by
tests/test_sqlalchemy_internals.py, which names this module when an upgrade changes one):
- `is_async = True` on a sync dialect: create_async_engine accepts only async drivers;
- `_touch_loop`: AsyncConnection checks that a driver awaited at least once per call;
- `sqlalchemy.util.concurrency.await_` and `in_greenlet`: to wait for `offloaded()` calls;
- `_async_soft_close` on the cursor, which AsyncSession calls on async drivers' cursors;
- `_dbapi_connection` of the execution context, for server-side cursors;
- `SQLiteDialect_pysqlite._is_url_file_db`, to pick the pool as pysqlite does.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteExecutionContext
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

_offload: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_offload", default=False)


@contextlib.contextmanager
def offloaded() -> Iterator[None]:
    """Run this task's SQLite calls in a worker thread (for long reads), keeping the loop free."""
    token = _offload.set(True)
    try:
        yield
    finally:
        _offload.reset(token)


def _call(lock: threading.Lock, fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn on this thread, or in a worker thread inside offloaded(). The lock keeps one
    call at a time on the connection, also when a cancelled task leaves a worker running."""
    if _offload.get() and in_greenlet():
        # Inside SQLAlchemy's greenlet: wait for the thread as any async driver would.
        return await_(asyncio.get_running_loop().run_in_executor(None, _locked, lock, fn, args))
    return _locked(lock, fn, args)


def _locked(lock: threading.Lock, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    with lock:
        return fn(*args)


async def _nothing() -> None:
    return None


def _touch_loop() -> None:
    """AsyncConnection.execute insists that a driver awaited at least once (it guards
    against sync drivers by mistake); a finished coroutine costs two greenlet switches."""
    if not _offload.get() and in_greenlet():
        await_(_nothing())


class InlineCursor(sqlite3.Cursor):
    """Rows of an offloaded SELECT are fetched in the worker thread with the statement, so
    reading them later (maybe outside SQLAlchemy's greenlet) never touches the connection."""

    _rows: deque[Any] | None = None

    def _lock(self) -> threading.Lock:
        return self.connection._lock  # type: ignore[attr-defined, no-any-return]

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:  # type: ignore[override]
        _touch_loop()
        self._rows = _call(self._lock(), self._run, super().execute, sql, parameters,
                           _offload.get())
        return self

    def executemany(self, sql: str, parameters: Any, /) -> InlineCursor:  # type: ignore[override]
        _touch_loop()
        self._rows = _call(self._lock(), self._run, super().executemany, sql, parameters,
                           _offload.get())
        return self

    def _run(self, method: Callable[..., Any], sql: str, parameters: Any,
             prefetch: bool) -> deque[Any] | None:
        # `prefetch` is decided by the caller: a worker thread does not see the task's context.
        method(sql, parameters)
        if prefetch and self.description is not None:
            return deque(super().fetchall())
        return None

    def fetchone(self) -> Any:
        if self._rows is not None:
            return self._rows.popleft() if self._rows else None
        return _locked(self._lock(), super().fetchone, ())

    def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if self._rows is not None:
            return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]
        return _locked(self._lock(), super().fetchmany, (size,))

    def fetchall(self) -> list[Any]:
        if self._rows is not None:
            rows, self._rows = list(self._rows), deque()
            return rows
        return _locked(self._lock(), super().fetchall, ())

    async def _async_soft_close(self) -> None:
        """AsyncSession asks async drivers to release buffered rows early; sqlite3 steps rows
        lazily as the sync engine reads them, so there is nothing to release."""


class InlineConnection(sqlite3.Connection):
    _lock: threading.Lock

    def cursor(self, factory: Any = InlineCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def commit(self) -> None:
        _call(self._lock, super().commit)

    def rollback(self) -> None:
        _call(self._lock, super().rollback)

    def close(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                super().close()
            finally:
                self._lock.release()
            return
        # A worker thread still runs a call of a cancelled task: close once it is done, in a
        # thread of its own, rather than freeze the loop until then.
        threading.Thread(target=self._close_when_free, daemon=True).start()

    def _close_when_free(self) -> None:
        with self._lock:
            sqlite3.Connection.close(self)


class _InlineDBAPI:
    """The sqlite3 module, connecting with InlineConnection."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> InlineConnection:
        # check_same_thread=False: offloaded() calls run in a worker thread; the one-connection
        # pool and the session make sure two calls never overlap.
        kwargs["check_same_thread"] = False
        kwargs["factory"] = InlineConnection
        connection = sqlite3.connect(*args, **kwargs)
        connection._lock = threading.Lock()
        return connection


class _ExecutionContext(SQLiteExecutionContext):
    def create_server_side_cursor(self) -> Any:
        return self._dbapi_connection.cursor()  # sqlite3 steps rows lazily anyway


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    driver = "inline"
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = True  # AsyncSession.stream() (bot.copydb) needs them
    execution_ctx_cls = _ExecutionContext

    @classmethod
    def import_dbapi(cls) -> Any:
        return _InlineDBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


# Also an entry point (pyproject: sqlalchemy.dialects "sqlite.inline"), so Alembic and any
# other tool open a sqlite+inline URL without importing this module first.
registry.register("sqlite.inline", __name__, "InlineSQLiteDialect")

