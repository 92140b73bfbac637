"""Throw-away PostgreSQL databases for tests (TEST_POSTGRES_URL names the server).

The first database of a test session is migrated to head and kept as a template; every
test then gets `CREATE DATABASE ... TEMPLATE` (a file copy, far faster than migrating) and
the database is dropped afterwards. The `test` database itself is never touched.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ENV = "TEST_POSTGRES_URL"
_template: str | None = None


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


async def _migrated_template(url: str) -> str:
    global _template
    if _template is None:
        from db.migrate import upgrade_async

        name = f"test_tmpl_{secrets.token_hex(4)}"
        await upgrade_async(await create_database(url, name))
        _template = name
    return _template


def drop_template() -> None:
    """Called once at the end of the session (conftest)."""
    global _template
    url = os.environ.get(ENV)
    if _template and url:
        asyncio.run(drop_database(url, _template))
    _template = None


@asynccontextmanager
async def fresh_database(migrated: bool = True) -> AsyncIterator[str]:
    """A new database on the test server; yields its SQLAlchemy URL, drops it afterwards."""
    url = server_url()
    name = f"test_{secrets.token_hex(6)}"
    template = await _migrated_template(url) if migrated else None
    db_url = await create_database(url, name, template)
    try:
        yield db_url
    finally:
        await drop_database(url, name)
