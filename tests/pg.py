"""Throw-away PostgreSQL databases for tests (TEST_POSTGRES_URL names the server).

A database migrated to head is kept as a template, named by a hash of the migrations (built
once per schema version; those of other versions are dropped an hour after their last use).
Every test then gets `CREATE DATABASE ... TEMPLATE` (a file copy, far faster than migrating)
and the database is dropped afterwards.
The `test` database itself is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ENV = "TEST_POSTGRES_URL"
LOCK_KEY = 7270012


def server_url() -> str:
    """TEST_POSTGRES_URL, or skip the calling test with a visible reason."""
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"{ENV} not set")
    return url


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(url: str, name: str, template: str | None = None,
                          durable: bool = False) -> str:
    conn = await asyncpg.connect(_dsn(url))
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        if not durable:  # throw-away data: no fsync wait per commit
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    finally:
        await conn.close()
    return with_database(url, name)


async def drop_database(url: str, name: str) -> None:
    if name == make_url(url).database:
        raise ValueError("refusing to drop the server's own test database")
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _schema_hash() -> str:
    """Changes whenever a migration or the seed data changes."""
    root = Path(__file__).resolve().parent.parent / "db"
    digest = hashlib.sha1()
    for path in sorted([*root.glob("migrations/versions/*.py"), root / "seed_units.py",
                        *root.glob("data/*.csv")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


@asynccontextmanager
async def _template_lock(url: str) -> AsyncIterator[asyncpg.Connection]:
    """Serialises template creation and cloning across concurrent test sessions."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        yield conn
    finally:
        await conn.close()  # releases the lock


async def _clone_migrated(url: str, name: str) -> str:
    """`name` as a copy of a migrated template (built once per schema version, then kept)."""
    template = f"test_tmpl_{_schema_hash()}"
    async with _template_lock(url) as conn:
        rows = await conn.fetch("SELECT datname, shobj_description(oid, 'pg_database') AS used "
                                "FROM pg_database WHERE datname LIKE 'test_tmpl_%'")
        existing = {r["datname"] for r in rows}
        now = time.time()
        for row in rows:  # other schema versions: older ones, or another branch's
            if row["datname"] != template and now - _last_used(row["used"]) > STALE_AFTER:
                with contextlib.suppress(asyncpg.PostgresError):
                    await conn.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
        if template not in existing:
            from db.migrate import upgrade_async

            building = f"test_build_{secrets.token_hex(4)}"
            try:
                await upgrade_async(await create_database(url, building))
                # Renamed only once complete: an interrupted build never becomes the template.
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            except BaseException:
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                raise
        await conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{now:.0f}'")
        return await create_database(url, name, template)


# A template of another schema is kept this long after its last use: test sessions of two
# branches (two schemas) running side by side must not drop each other's template each time.
STALE_AFTER = 3600.0


def _last_used(comment: str | None) -> float:
    try:
        return float(comment or 0)
    except ValueError:
        return 0.0


async def new_database(migrated: bool = True) -> str:
    """A new database on the test server (migrated unless told); its SQLAlchemy URL.
    The caller drops it with `drop(url)`."""
    url = server_url()
    name = f"test_{secrets.token_hex(6)}"
    return await (_clone_migrated(url, name) if migrated else create_database(url, name))


async def drop(db_url: str) -> None:
    await drop_database(server_url(), make_url(db_url).database or "")


@asynccontextmanager
async def fresh_database(migrated: bool = True) -> AsyncIterator[str]:
    """A new database on the test server; yields its SQLAlchemy URL, drops it afterwards."""
    db_url = await new_database(migrated)
    try:
        yield db_url
    finally:
        await drop(db_url)


async def check_server(url: str, timeout: float = 5.0) -> None:
    """Raises when the server named by TEST_POSTGRES_URL does not answer a query."""
    conn = await asyncpg.connect(_dsn(url), timeout=timeout)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
