"""`python -m bot copy-db`: everything arrives, links and ids intact, the copy keeps working."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.copydb import CopyDbError, copy_db
from bot.services.delivery import OutgoingMessage, Recipient, enqueue
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_async
from db.models import ActivityLog, Delivery, OutboxPayload, Region, User
from tests import pg

BIG_TG_ID = 7_999_999_999  # Telegram ids no longer fit in 32 bits
WHEN = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


async def fill_source(url: str) -> None:
    await upgrade_async(url)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as s:
        # The approver has a larger id than the person approved: a self-reference forward.
        coordinator = User(id=1, tg_id=BIG_TG_ID, chat_id=BIG_TG_ID, role="coordinator",
                           status="active", approved_by=3, settings={"digest": True},
                           blocked_bot=True, consent_at=WHEN)
        students = [User(id=2, tg_id=501, chat_id=501, role="student", locale="ru",
                         full_name="Әлия Сейтқали", settings={})]
        staff = User(id=3, tg_id=900, chat_id=900, role="staff", settings={"a": [1, 2]})
        s.add_all([staff, *students])
        await s.flush()
        s.add(coordinator)
        await s.flush()
        s.add(ActivityLog(user_id=2, kind="registered", at=WHEN, extra=None))
        s.add(ActivityLog(user_id=1, kind="approved", at=WHEN, extra={"by": 3}))
        await s.commit()
        await enqueue(s, "notice", 1, [Recipient(u, u * 100 + 1) for u in (1, 2, 3)],
                      {"default": OutgoingMessage(text="Сәлем <b>!</b>", html=True)})
        await s.commit()
    await engine.dispose()


async def check_copy(url: str) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as s:
        users = {u.id: u for u in await s.scalars(select(User))}
        assert set(users) == {1, 2, 3}
        assert users[1].tg_id == BIG_TG_ID and users[1].approved_by == 3
        assert users[1].blocked_bot is True and users[2].blocked_bot is False
        assert users[1].consent_at == WHEN
        assert users[2].full_name == "Әлия Сейтқали"
        assert users[3].settings == {"a": [1, 2]}
        logs = (await s.scalars(select(ActivityLog).order_by(ActivityLog.id))).all()
        assert [(a.kind, a.extra) for a in logs] == [("registered", None),
                                                      ("approved", {"by": 3})]
        assert await s.scalar(select(func.count()).select_from(Delivery)) == 3
        body = (await s.scalars(select(OutboxPayload))).one().body
        assert body["text"] == "Сәлем <b>!</b>"
        assert await s.scalar(select(func.count()).select_from(Region)) > 10
        # Sequences were moved on: new rows get fresh ids.
        new = User(tg_id=777, chat_id=777, role="student")
        s.add(new)
        s.add(ActivityLog(kind="after_copy"))
        await s.commit()
        assert new.id == 4
    await engine.dispose()


@pytest.mark.sqlite_only("copy-db reads a SQLite file; the SQLite pass runs these")
async def test_copy_sqlite_to_sqlite(tmp_path) -> None:
    src, dst = (f"sqlite+inline:///{tmp_path / n}" for n in ("src.db", "dst.db"))
    await fill_source(src)
    counts = await copy_db(src, dst)
    assert counts["users"] == 3 and counts["deliveries"] == 3
    await check_copy(dst)


@pytest.mark.sqlite_only("copy-db reads a SQLite file; the SQLite pass runs these")
async def test_copy_sqlite_to_postgres(tmp_path) -> None:
    pg.server_url()
    src = f"sqlite+inline:///{tmp_path / 'src.db'}"
    await fill_source(src)
    async with pg.fresh_database(migrated=False) as dst:
        counts = await copy_db(src, dst)
        assert counts["users"] == 3 and counts["activity_log"] == 2
        await check_copy(dst)
        with pytest.raises(CopyDbError, match="already holds data"):
            await copy_db(src, dst)


@pytest.mark.sqlite_only("copy-db reads a SQLite file; the SQLite pass runs these")
async def test_source_behind_migrations_is_refused(tmp_path) -> None:
    src, dst = (f"sqlite+inline:///{tmp_path / n}" for n in ("src.db", "dst.db"))
    await upgrade_async(src, "0001")
    with pytest.raises(CopyDbError, match="latest migration"):
        await copy_db(src, dst)


@pytest.mark.sqlite_only("copy-db reads a SQLite file; the SQLite pass runs these")
async def test_cli_copy_db(tmp_path) -> None:
    """`python -m bot copy-db --to URL` as an operator runs it (to PostgreSQL when available)."""
    src = f"sqlite+inline:///{tmp_path / 'bot.db'}"
    await fill_source(src)
    async with contextlib.AsyncExitStack() as stack:
        if os.environ.get(pg.ENV):
            dst = await stack.enter_async_context(pg.fresh_database(migrated=False))
        else:
            dst = f"sqlite+inline:///{tmp_path / 'copy.db'}"
        env = {**os.environ, "DATABASE_URL": src, "BOT_TOKEN": ""}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "copy-db", "--to", dst, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()
        await check_copy(dst)
