"""SQLite checkpoints off the event loop.

In WAL mode SQLite appends every commit to the write-ahead log and now and then copies the
log back into the database file (a checkpoint). The commit that takes the log past 1,000 pages
does it, on the event loop's thread: it copied ~4 MB and waited for two fsyncs while every chat
waited (~6 % of the throughput of a contest's last evening). Here a thread with its own
connection checkpoints every `interval` seconds (PASSIVE: it never waits for, nor blocks, the
bot's reads and writes; sqlite3 releases the GIL while SQLite copies), so the commit that
crosses 1,000 pages finds nearly all of them copied already. That commit is still needed:
only a checkpoint between two writes on the writing connection completes while commits keep
coming, which lets the log start again from its beginning instead of growing.

After an erasure (`overwrite_after_commit`) the log still holds the erased values in the
pages written before; the thread then runs a TRUNCATE checkpoint, which copies the log back
and empties it. It waits at most TRUNCATE_WAIT_MS for readers (a TRUNCATE holds writers off
while it waits, and the bot writes on the event loop's thread) and tries again every interval
until it succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from typing import ClassVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)
ERASURE = "sqlite_erasure"  # Session.info key: this transaction erased personal data
TRUNCATE_WAIT_MS = 50


class WalCheckpointer:
    running_for: ClassVar[dict[str, WalCheckpointer]] = {}  # by the database's real path

    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._truncate_wanted = threading.Event()
        self._truncated = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_url(cls, url: str, interval: float = 1.0) -> WalCheckpointer | None:
        """None for a server database or an in-memory SQLite one (no log to copy back)."""
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return None
        return cls(parsed.database, interval)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()
        WalCheckpointer.running_for[os.path.realpath(self.path)] = self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if WalCheckpointer.running_for.get(os.path.realpath(self.path)) is self:
            del WalCheckpointer.running_for[os.path.realpath(self.path)]

    def request_truncate(self) -> None:
        """Empty the log soon (it holds what an erasure has just overwritten)."""
        self._truncated.clear()
        self._truncate_wanted.set()
        self._wake.set()

    async def wait_truncated(self, timeout: float) -> bool:
        """True once the log was emptied after the last request (False on timeout)."""
        return await asyncio.to_thread(self._truncated.wait, timeout)

    def checkpoint(self, connection: sqlite3.Connection | None = None) -> tuple[int, int, int]:
        """(busy, pages in the log, pages copied back), as SQLite reports them."""
        own = connection or self._connect()
        try:
            return tuple(own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())  # type: ignore[return-value]
        finally:
            if connection is None:
                own.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=10000")
        return connection

    def truncate(self, connection: sqlite3.Connection) -> bool:
        """Copy the whole log back and empty it; False if readers kept it in use."""
        connection.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.execute("PRAGMA busy_timeout=10000")
        return busy == 0

    def _run(self) -> None:
        connection = self._connect()
        try:
            while not self._stop.is_set():
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    if self._truncate_wanted.is_set() and self.truncate(connection):
                        self._truncate_wanted.clear()
                        self._truncated.set()
                    else:
                        self.checkpoint(connection)
                except sqlite3.Error as exc:  # a locked or vanished file: try again later
                    logger.warning("WAL checkpoint failed: %s", exc)
        finally:
            connection.close()


def overwrite_after_commit(session: AsyncSession) -> None:
    """This transaction erases personal data: once committed, the log that still holds the
    old values is emptied (SQLite with its checkpointer running; elsewhere nothing to do)."""
    session.info[ERASURE] = True


@event.listens_for(Session, "after_commit")
def _erasure_committed(session: Session) -> None:
    if not session.info.pop(ERASURE, False):
        return
    database = session.get_bind().url.database
    checkpointer = WalCheckpointer.running_for.get(os.path.realpath(database or ""))
    if checkpointer is not None:
        checkpointer.request_truncate()


@event.listens_for(Session, "after_rollback")
def _erasure_rolled_back(session: Session) -> None:
    session.info.pop(ERASURE, None)
