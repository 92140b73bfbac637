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
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
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

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

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

    def _run(self) -> None:
        connection = self._connect()
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:  # a locked or vanished file: try again later
                    logger.warning("WAL checkpoint failed: %s", exc)
        finally:
            connection.close()
