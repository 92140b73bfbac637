"""Consistent online backups, restores and a rotating backup folder.

SQLite: sqlite3's backup API (one snapshot while the bot keeps writing). PostgreSQL: pg_dump's
custom format (one snapshot too), put back by pg_restore. Both write to a temporary name first,
so a file with a backup's name is always a complete, checked backup.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from db.engine import is_sqlite

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Names in a rotated folder: mektep-bot-20261203T213000Z.db (SQLite) or .dump (PostgreSQL).
ROTATED_NAME = re.compile(r"^mektep-bot-(\d{8}T\d{6}Z)\.(?:db|dump)$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise SystemExit("no database file to back up")
    return path


def _pg_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"backup works on SQLite and PostgreSQL, not {parsed.drivername}")
    return parsed


def _libpq_env(url: URL) -> dict[str, str]:
    """pg_dump's connection through libpq's variables: the password stays out of `ps`."""
    env = dict(os.environ)
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[var] = str(value)
    ssl = url.query.get("sslmode") or url.query.get("ssl")  # asyncpg spells it `ssl`
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} not found: install the PostgreSQL client (package "
                         "postgresql-client), of the server's major version or newer")
    return path


def _run_pg(args: list[str], url: URL) -> None:
    result = subprocess.run(args, env=_libpq_env(url), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{Path(args[0]).name} failed: {result.stderr.strip()}")


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


def _pg_dump(url: URL, target: str) -> None:
    # Custom format: compressed, and pg_restore can put back all of it or single tables.
    _run_pg([_pg_tool("pg_dump"), "--format=custom", f"--file={target}"], url)
    _run_pg([_pg_tool("pg_restore"), "--list", target], url)  # the archive reads back


def _backup_sync(url: str, target: str) -> None:
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    partial = f"{target}.partial"
    try:
        if is_sqlite(url):
            source = _sqlite_path(url)
            if not Path(source).is_file():  # sqlite3 would create an empty one and copy that
                raise SystemExit(f"no database at {source}")
            _copy(source, partial)
        else:
            _pg_dump(_pg_url(url), partial)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def _restore_sync(url: str, source: str) -> None:
    with open(source, "rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if is_sqlite(url):
        if not head.startswith(SQLITE_MAGIC):
            raise SystemExit(f"{source} is not a SQLite backup, and DATABASE_URL is SQLite")
        _copy(source, _sqlite_path(url))
        return
    pg_url = _pg_url(url)
    if not head.startswith(PG_DUMP_MAGIC):
        raise SystemExit(f"{source} is not a pg_dump archive, and DATABASE_URL is PostgreSQL")
    # One transaction: a restore that fails half-way leaves the database as it was.
    _run_pg([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={pg_url.database}", source],
            pg_url)


async def backup(url: str, target: str) -> None:
    await asyncio.to_thread(_backup_sync, url, target)


async def restore(url: str, source: str) -> None:
    """Replace the database with a backup. Stop the bot first."""
    if not Path(source).exists():
        raise SystemExit(f"no such backup: {source}")
    await asyncio.to_thread(_restore_sync, url, source)


def rotated_name(url: str, when: datetime) -> str:
    suffix = "db" if is_sqlite(url) else "dump"
    return f"mektep-bot-{when.astimezone(UTC).strftime(STAMP_FORMAT)}.{suffix}"


def backups_to_keep(stamps: Iterable[datetime], daily: int, weekly: int) -> set[datetime]:
    """The newest backup of each of the last `daily` days that have one, and of each of the
    last `weekly` ISO weeks that have one (days and weeks in UTC)."""
    keep: set[datetime] = set()
    newest = sorted(set(stamps), reverse=True)
    for period, count in ((lambda t: t.date(), daily), (lambda t: t.isocalendar()[:2], weekly)):
        seen: set[object] = set()
        for stamp in newest:
            key = period(stamp)
            if key not in seen and len(seen) < count:
                seen.add(key)
                keep.add(stamp)
    return keep


def _rotated_backups(folder: Path) -> dict[Path, datetime]:
    found = {}
    for path in folder.iterdir():
        match = ROTATED_NAME.match(path.name)
        if match and path.is_file():
            found[path] = datetime.strptime(match[1], STAMP_FORMAT).replace(tzinfo=UTC)
    return found


async def backup_rotate(url: str, folder: str, daily: int, weekly: int,
                        now: datetime | None = None) -> tuple[Path, list[Path]]:
    """A new backup in `folder`, then older ones beyond the daily/weekly counts removed.
    Only files named like this command's backups are ever removed; a failed backup removes
    nothing."""
    if daily < 1 or weekly < 0:
        raise SystemExit("keep at least one daily backup (--keep-daily >= 1, --keep-weekly >= 0)")
    target = Path(folder) / rotated_name(url, now or datetime.now(UTC))
    await backup(url, str(target))
    found = _rotated_backups(Path(folder))
    keep = backups_to_keep(found.values(), daily, weekly)
    removed = sorted(path for path, stamp in found.items()
                     if stamp not in keep and path != target)
    for path in removed:
        path.unlink()
    return target, removed
