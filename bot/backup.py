"""Consistent online backup and restore of the SQLite database (sqlite3's backup API)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import is_sqlite


def _sqlite_path(url: str) -> str:
    if not is_sqlite(url):
        raise SystemExit("backup/restore work on SQLite; use pg_dump for PostgreSQL")
    path = make_url(url).database
    if not path or path == ":memory:":
        raise SystemExit("no database file to back up")
    return path


def _copy(src_path: str, dst_path: str) -> None:
    Path(dst_path).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(src_path, timeout=30)
    dst = sqlite3.connect(dst_path)
    try:
        # All pages in one step, inside one read transaction: one consistent snapshot, while
        # the bot keeps writing to the log (WAL). A copy in several steps would start over
        # each time the bot wrote, and might never finish on a busy evening.
        src.backup(dst)
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise SystemExit(f"integrity check of {dst_path} failed")
    finally:
        dst.close()
        src.close()


async def backup(url: str, target: str) -> None:
    await asyncio.to_thread(_copy, _sqlite_path(url), target)


async def restore(url: str, source: str) -> None:
    """Replace the database with a backup. Stop the bot first (the instance lock tells)."""
    if not Path(source).exists():
        raise SystemExit(f"no such backup: {source}")
    await asyncio.to_thread(_copy, source, _sqlite_path(url))
