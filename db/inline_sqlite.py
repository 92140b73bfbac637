"""An aiosqlite-shaped SQLite driver that runs statements on the event loop's own thread.

Why: the bot talks to SQLite through one connection (see db.engine), so statements never run
side by side anyway, and a bot statement takes microseconds. aiosqlite hands every call to a
worker thread and back (two loop wake-ups, a GIL hand-over), which made the thread hops — not
SQLite — most of the database cost of an update (a five-statement transaction: ~2 ms through
aiosqlite, ~0.3 ms inline). Heavy reads (exports, reports) can still leave the loop free with
`offloaded()`: inside it every call goes to a worker thread, as aiosqlite would do.

SQLAlchemy's aiosqlite dialect drives this object through `async_creator`, so the dialect,
types and pool behave exactly as with aiosqlite.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

_offload: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_offload", default=False)


@contextlib.contextmanager
def offloaded() -> Iterator[None]:
    """Run this task's SQLite calls in a worker thread (for long reads), keeping the loop free."""
    token = _offload.set(True)
    try:
        yield
    finally:
        _offload.reset(token)


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    if _offload.get():
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
    return fn(*args)


class InlineCursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await _call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        await _call(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return await _call(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return await _call(self._cursor.fetchmany, size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return await _call(self._cursor.fetchall)

    async def close(self) -> None:
        self._cursor.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany(64):
            for row in rows:
                yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """SQLAlchemy sets isolation_level through aiosqlite's private request queue; run it now."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed back to the awaiting caller
            future.set_exception(exc)


class InlineConnection:
    """The subset of aiosqlite.Connection that SQLAlchemy's aiosqlite dialect uses."""

    _tx = _ImmediateQueue()

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn

    @classmethod
    async def connect(cls, database: str, **kwargs: Any) -> InlineConnection:
        # check_same_thread=False: offloaded() calls run in a worker thread; the one-connection
        # pool and SQLAlchemy's execute mutex make sure two calls never overlap.
        kwargs.setdefault("check_same_thread", False)
        return cls(sqlite3.connect(database, **kwargs))

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live().cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live().create_function(*args, **kwargs)

    async def commit(self) -> None:
        await _call(self._live().commit)

    async def rollback(self) -> None:
        await _call(self._live().rollback)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
