"""Migrations: every step walks up and down, and the result matches the models exactly."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from db.migrate import alembic_config, downgrade, upgrade, upgrade_async
from db.models import Base


@pytest.mark.sqlite_only("the SQLite walk (test_postgres walks PostgreSQL)")
def test_stairway_up_and_down(tmp_path):
    url = f"sqlite+inline:///{tmp_path}/m.db"
    script = ScriptDirectory.from_config(alembic_config(url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for n, revision in enumerate(revisions):
        upgrade(url, revision)
        downgrade(url, revisions[n - 1] if n else "base")
        upgrade(url, revision)
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("select count(*) from regions").fetchone()[0] == 20


async def test_models_match_migrations(db_url):
    """On the database of the pass: SQLite, or PostgreSQL with its own types."""
    url = db_url if "://" in db_url else f"sqlite+inline:///{db_url}"
    await upgrade_async(url)
    engine = create_async_engine(url)  # the dialect's own driver, whatever the bot uses
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    await engine.dispose()
    assert diff == [], f"models and migrations differ: {diff[:5]}"
