"""Backups as the nightly timer takes them: SQLite and PostgreSQL, restored, and rotated."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.backup import backup_rotate, backups_to_keep
from tests import pg
from tests.test_cli import run_cli


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _name(text: str, suffix: str = "db") -> str:
    return f"mektep-bot-{_at(text):%Y%m%dT%H%M%SZ}.{suffix}"


def test_rotation_keeps_the_newest_of_each_recent_day_and_week():
    # 2026-11-30 is a Monday; two backups a day for three weeks.
    stamps = [_at("2026-11-16 00:00") + timedelta(hours=12 * n) for n in range(42)]
    keep = backups_to_keep(stamps, daily=3, weekly=3)
    assert keep == {
        _at("2026-12-06 12:00"), _at("2026-12-05 12:00"), _at("2026-12-04 12:00"),  # daily
        _at("2026-11-29 12:00"), _at("2026-11-22 12:00"),  # the Sundays before: weekly
    }  # the newest of this week is 2026-12-06 12:00, kept as a daily already


def test_rotation_counts_days_that_have_a_backup_not_calendar_days():
    stamps = [_at("2026-12-01 03:00"), _at("2026-11-20 03:00"), _at("2026-11-02 03:00")]
    assert backups_to_keep(stamps, daily=2, weekly=0) == set(stamps[:2])
    assert backups_to_keep(stamps, daily=1, weekly=10) == set(stamps)


def _sqlite_env(db) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+inline:///{db}"}


def _set_state(db, value: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("insert into bot_state(key, value, updated_at) values ('k', ?, "
                     "'2026-01-01') on conflict(key) do update set value=excluded.value",
                     (value,))


def _state(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("select value from bot_state where key='k'").fetchone()[0]


@pytest.mark.sqlite_only("a SQLite backup copies the database file (pg_dump's are below)")
async def test_backup_rotate_keeps_the_right_files(tmp_path):
    db, folder = tmp_path / "bot.db", tmp_path / "backups"
    assert run_cli("migrate", env=_sqlite_env(db)).returncode == 0
    folder.mkdir()
    old = ["2026-11-29 22:30", "2026-11-28 22:30", "2026-11-27 22:30", "2026-11-26 22:30",
           "2026-11-19 22:30", "2026-11-12 22:30", "2026-10-01 22:30"]
    for stamp in old:
        (folder / _name(stamp)).write_bytes(b"an older backup")
    (folder / "notes.txt").write_text("the operator's own file")
    (folder / "mektep-bot-20260101T000000Z.db.partial").write_bytes(b"not ours to judge")

    taken, removed = await backup_rotate(f"sqlite+inline:///{db}", str(folder), daily=3,
                                         weekly=3, now=_at("2026-12-03 22:30"))
    assert taken == folder / _name("2026-12-03 22:30")
    # Daily: tonight and the two newest days before. Weekly: tonight's week, then the newest
    # of each of the two weeks before (Sunday 11-29 closes the week of 11-23).
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        taken.name, _name("2026-11-29 22:30"), _name("2026-11-28 22:30"),
        _name("2026-11-19 22:30"), "notes.txt", "mektep-bot-20260101T000000Z.db.partial"])
    assert removed == sorted(folder / _name(s) for s in (
        "2026-11-27 22:30", "2026-11-26 22:30", "2026-11-12 22:30", "2026-10-01 22:30"))
    with sqlite3.connect(taken) as conn:
        assert conn.execute("select count(*) from districts").fetchone()[0] == 228


@pytest.mark.sqlite_only("a SQLite backup copies the database file (pg_dump's are below)")
def test_backup_rotate_command_takes_a_backup_that_restores(tmp_path):
    db, folder = tmp_path / "bot.db", tmp_path / "backups"
    env = _sqlite_env(db)
    assert run_cli("migrate", env=env).returncode == 0
    _set_state(db, "tonight")
    result = run_cli("backup-rotate", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    (taken,) = folder.iterdir()
    assert f"backup done: {taken}" in result.stdout

    _set_state(db, "changed after the backup")
    assert run_cli("restore", str(taken), env=env).returncode == 0
    assert _state(db) == "tonight"


@pytest.mark.sqlite_only("a SQLite backup copies the database file (pg_dump's are below)")
def test_a_failed_backup_removes_nothing(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / _name("2026-11-01 22:30")).write_bytes(b"the only backup")
    result = run_cli("backup-rotate", str(folder), "--keep-daily", "1", "--keep-weekly", "0",
                     env=_sqlite_env(tmp_path / "bot.db"))  # never migrated: no such file
    assert result.returncode != 0
    assert f"no database at {tmp_path / 'bot.db'}" in result.stderr
    assert not (tmp_path / "bot.db").exists()
    assert sorted(p.name for p in folder.iterdir()) == [_name("2026-11-01 22:30")]


@pytest.mark.sqlite_only("a SQLite backup copies the database file (pg_dump's are below)")
def test_restore_refuses_a_backup_of_the_other_kind(tmp_path):
    db = tmp_path / "bot.db"
    assert run_cli("migrate", env=_sqlite_env(db)).returncode == 0
    _set_state(db, "kept")
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP\x01\x0f" + bytes(100))
    result = run_cli("restore", str(dump), env=_sqlite_env(db))
    assert result.returncode != 0
    assert "not a SQLite backup" in result.stderr
    assert _state(db) == "kept"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_rows(url: str) -> tuple[str | None, int, str]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        value = await conn.fetchval("select value from bot_state where key='k'")
        districts = await conn.fetchval("select count(*) from districts")
        version = await conn.fetchval("select version_num from alembic_version")
    finally:
        await conn.close()
    return value, districts, version


@pytest.fixture
def pg_tools() -> None:
    pg.server_url()
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (package postgresql-client)")


async def test_postgres_backup_restores_in_place_and_into_an_empty_database(pg_tools,
                                                                           tmp_path):
    folder = tmp_path / "backups"
    async with pg.fresh_database() as url:
        conn = await asyncpg.connect(_dsn(url))
        await conn.execute("insert into bot_state(key, value, updated_at) "
                           "values ('k', 'tonight', now())")
        await conn.close()
        before = await _pg_rows(url)
        result = run_cli("backup-rotate", str(folder), env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        (dump,) = folder.iterdir()
        assert dump.suffix == ".dump" and dump.read_bytes().startswith(b"PGDMP")

        conn = await asyncpg.connect(_dsn(url))
        await conn.execute("update bot_state set value='changed' where key='k'")
        await conn.execute("delete from districts where id in "
                           "(select id from districts order by id desc limit 3)")
        await conn.close()
        result = run_cli("restore", str(dump), env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        assert await _pg_rows(url) == before == ("tonight", 228, before[2])

        async with pg.fresh_database(migrated=False) as empty:  # a new server after a loss
            result = run_cli("restore", str(dump), env={"DATABASE_URL": empty})
            assert result.returncode == 0, result.stderr
            assert await _pg_rows(empty) == before


async def test_a_failed_postgres_backup_says_why_and_leaves_no_file(pg_tools, tmp_path):
    missing = make_url(pg.server_url()).set(database="no_such_db_for_backup_test")
    result = run_cli("backup", str(tmp_path / "x.dump"),
                     env={"DATABASE_URL": missing.render_as_string(hide_password=False)})
    assert result.returncode != 0
    assert "pg_dump failed" in result.stderr and "no_such_db_for_backup_test" in result.stderr
    assert list(tmp_path.iterdir()) == []
