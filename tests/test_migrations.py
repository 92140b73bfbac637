"""Migrations: every step walks up and down, and the result matches the models exactly."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from db.migrate import alembic_config, downgrade, upgrade
from db.models import Base


def test_stairway_up_and_down(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    script = ScriptDirectory.from_config(alembic_config(url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for n, revision in enumerate(revisions):
        upgrade(url, revision)
        downgrade(url, revisions[n - 1] if n else "base")
        upgrade(url, revision)
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("select count(*) from regions").fetchone()[0] == 20


def test_models_match_migrations(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    upgrade(url)
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff[:5]}"
