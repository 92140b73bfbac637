"""The program as a user runs it: configuration errors, migrate, the console, backup/restore."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.console import run_console
from db.engine import create_engine
from db.models import User
from handlers import setup_routers
from tests.e2e import ROOT


def run_cli(*args: str, env: dict[str, str] | None = None,
            stdin: str = "") -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "STAFF_IDS")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=full_env,
                          input=stdin, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("variable", "value"), [
    ("STAFF_IDS", "12,abc"), ("BOT_TOKEN", "not-a-token"), ("DEFAULT_LOCALE", "de"),
    ("TIMEZONE", "Mars/Base"), ("DELIVERY_RATE", "0"),
])
def test_bad_setting_stops_with_one_line_and_exit_2(variable, value, tmp_path):
    result = run_cli("migrate", env={variable: value,
                                     "DATABASE_URL": f"sqlite+inline:///{tmp_path}/x.db"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sqlite_only("the database file's folder")
def test_migrate_creates_the_database_folder(tmp_path):
    db = tmp_path / "nested" / "bot.db"
    result = run_cli("migrate", env={"DATABASE_URL": f"sqlite+inline:///{db}"})
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from regions").fetchone()[0] == 20
        assert conn.execute("select count(*) from districts").fetchone()[0] == 228


async def test_console_scripted_registration(db_url):
    script = io.StringIO("/start\n3\n1\n1\n2\n1\nSchool 5\n2\n3\n9\n3\n1\n/help\n/as 900\n/help\n")
    out = io.StringIO()
    url = db_url if "://" in db_url else f"sqlite+inline:///{db_url}"
    settings = Settings(database_url=url, _env_file=None, staff_ids=frozenset({900}))
    await run_console(settings, routers=setup_routers, stdin=script, out=out)
    text = out.getvalue()
    assert "[1] Қазақша" in text
    assert "Registration complete" in text
    assert "(now talking as user 900)" in text
    engine = create_engine(url)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(User.role, User.org_name, User.grade).where(
            User.tg_id == 1001))).one()
    await engine.dispose()
    assert tuple(stored) == ("student", "School 5", "9")


@pytest.mark.sqlite_only("backup and restore copy the SQLite file")
def test_backup_and_restore(tmp_path):
    db = tmp_path / "bot.db"
    env = {"DATABASE_URL": f"sqlite+inline:///{db}"}
    assert run_cli("migrate", env=env).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("insert into bot_state(key, value, updated_at) values ('k', 'before', "
                     "'2026-01-01')")
    backup = tmp_path / "backups" / "b.db"
    result = run_cli("backup", str(backup), env=env)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        conn.execute("update bot_state set value='after' where key='k'")
    assert run_cli("restore", str(backup), env=env).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("select value from bot_state where key='k'").fetchone()[0] == "before"


@pytest.mark.sqlite_only("backup copies the SQLite file")
def test_a_backup_finishes_while_the_bot_keeps_writing(tmp_path):
    """One consistent copy, even when a write lands every few milliseconds."""
    from bot.backup import _copy

    db = tmp_path / "busy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (n INTEGER, x BLOB)")
        conn.executemany("INSERT INTO t VALUES (?, randomblob(2000))",
                         [(n,) for n in range(5000)])  # ~10 MB
    stop, written, errors = threading.Event(), [5000], []

    def keep_writing() -> None:
        writer = sqlite3.connect(db, isolation_level=None, timeout=30)
        try:
            while not stop.is_set():
                writer.execute("INSERT INTO t VALUES (?, randomblob(2000))", (written[0],))
                written[0] += 1
        except sqlite3.Error as exc:  # the copy must never block the bot's writes
            errors.append(exc)
        finally:
            writer.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    while written[0] < 5050:  # the bot is busy before the copy starts
        time.sleep(0.001)
    copier = threading.Thread(target=_copy, args=(str(db), str(tmp_path / "copy.db")))
    copier.start()
    copier.join(timeout=60)
    stop.set()
    writer.join()
    assert not copier.is_alive(), "the copy never finished"
    assert errors == []
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        count, top = copy.execute("SELECT count(*), max(n) FROM t").fetchone()
    assert count == top + 1 >= 5050  # a snapshot: every row up to some moment, none missing
