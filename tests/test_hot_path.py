"""The fast paths of the update pipeline keep the behaviour of the slow ones: SQLite on the
loop's thread, coalesced FSM writes, cached challenge copies and router-level gates."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from bot.aiogram_internals import GatedDispatcher
from bot.app import LOCAL_TOKEN
from bot.db_context import current_session
from bot.local_api import LocalSession
from bot.routing import Routes, message_gate, optimise_routing
from db.checkpoint import WalCheckpointer
from db.engine import create_engine, create_sessionmaker
from db.inline_sqlite import offloaded
from db.models import ActivityLog, FsmRecord, Region
from db.models.challenges import Submission
from tests.factories import make_student
from tests.harness import BotHarness, make_harness
from tests.test_challenges import PHOTO, new_challenge, photo


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def count_entries(h: BotHarness) -> int:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(Submission)) or 0


# --- challenge copies are dropped as soon as staff change the challenge -------------------

async def test_closing_early_refuses_an_entry_already_half_sent(h):
    cid = await new_challenge(h)
    await make_student(h, 101)
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")  # the challenge is now cached as open
    await u.send_content(photo=PHOTO)
    staff = h.user(900)
    await staff.press(f"cha:close:{cid}:")
    assert "is closed" in staff.last_text()
    await u.click("Send without a comment")
    assert "deadline has passed" in u.last_text()
    assert await count_entries(h) == 0


async def one_text_entry_sent(h: BotHarness, max_submissions: int) -> tuple[int, Any]:
    cid = await new_challenge(h, content=("text",), max_submissions=max_submissions)
    await make_student(h, 101)
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.send("first")
    await u.click("Send without a comment")
    return cid, u


async def set_limit(h: BotHarness, cid: int, limit: int) -> None:
    staff = h.user(900)
    await staff.press(f"cha:editf:{cid}:max_submissions")
    await staff.send(str(limit))


async def test_a_raised_limit_applies_at_once(h):
    cid, u = await one_text_entry_sent(h, max_submissions=1)
    await u.press(f"ch:submit:{cid}:")
    assert "most entries allowed (1)" in u.last_text()
    await set_limit(h, cid, 2)
    await u.press(f"ch:submit:{cid}:")
    await u.send("second")
    await u.click("Send without a comment")
    assert "Your entry No. 2" in u.last_text()
    assert await count_entries(h) == 2


async def test_a_limit_lowered_half_way_refuses_at_confirmation_and_stores_nothing(h):
    cid, u = await one_text_entry_sent(h, max_submissions=2)
    await u.press(f"ch:submit:{cid}:")
    await u.send("second")
    await set_limit(h, cid, 1)
    logged = await count_activity(h)
    await u.click("Send without a comment")
    assert "most entries allowed (1)" in u.last_text()
    assert await count_entries(h) == 1
    assert await count_activity(h) == logged


async def count_activity(h: BotHarness) -> int:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(ActivityLog)) or 0


async def test_a_copy_taken_inside_a_rolled_back_change_is_dropped(h):
    """A session reads its own uncommitted change, then rolls it back: the copy it cached of
    the changed row must not outlive the rollback."""
    from bot.services.challenge_views import challenge_view
    from db.models.challenges import Challenge

    cid = await new_challenge(h, max_submissions=1)
    async with h.app.sessionmaker() as s:
        (await s.get(Challenge, cid)).max_submissions = 5
        await s.flush()
        assert (await challenge_view(s, cid)).max_submissions == 5  # its own, uncommitted
        await s.rollback()
    async with h.app.sessionmaker() as s:
        assert (await challenge_view(s, cid)).max_submissions == 1


# --- FSM writes: one statement per key at commit, nothing after a failure -----------------

KEY = StorageKey(bot_id=1, chat_id=55, user_id=55)


async def test_state_and_data_of_one_step_are_one_statement(h):
    storage = h.app.storage
    statements: list[str] = []
    event.listen(h.app.engine.sync_engine, "before_cursor_execute",
                 lambda *a: statements.append(a[2]) if "fsm_records" in a[2] else None)
    async with h.app.sessionmaker() as s:
        token = current_session.set(s)
        try:
            await storage.set_state(KEY, "SubmitSG:content")
            await storage.set_data(KEY, {"cid": 7})
            await storage.update_data(KEY, {"parts": [1]})
            await s.commit()
        finally:
            current_session.reset(token)
    writes = [st for st in statements if not st.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1
    async with h.app.sessionmaker() as s:
        row = await s.get(FsmRecord, "1:55:55:0:default")
        assert (row.state, row.data) == ("SubmitSG:content", {"cid": 7, "parts": [1]})


async def test_a_failed_update_leaves_the_previous_state(h):
    storage = h.app.storage
    await storage.set_state(KEY, "Old:state")  # outside an update: written at once
    async with h.app.sessionmaker() as s:
        token = current_session.set(s)
        try:
            await storage.set_state(KEY, "New:state")
            assert await storage.get_state(KEY) == "New:state"
        finally:
            current_session.reset(token)
        from bot.storage import discard_pending

        discard_pending(s)  # what DbSessionMiddleware does when the handler raised
    assert await storage.get_state(KEY) == "Old:state"
    async with h.app.sessionmaker() as s:
        assert (await s.get(FsmRecord, "1:55:55:0:default")).state == "Old:state"


async def test_album_parts_added_in_place_are_stored_and_survive_a_restart(h, tmp_path, clock):
    """Handlers append to nested FSM data in place; every part must still reach the database."""
    cid = await new_challenge(h, content=("photo",))
    await make_student(h, 101)
    await h.user(101).press(f"ch:submit:{cid}:")
    for n in range(3):
        await h.user(101).send_content(photo=photo(n), media_group_id="album-1")
    await h.close()
    again = await make_harness(str(tmp_path / "bot.db"), clock, flood_limit=100_000)
    try:
        await again.user(101).press(f"ch:ok:{cid}:")
        assert "Your entry No. 1" in again.user(101).last_text()
        async with again.app.sessionmaker() as s:
            assert len((await s.get(Submission, 1)).media) == 3
    finally:
        await again.close()


async def test_a_failed_commit_leaves_the_state_as_stored(h):
    from bot.storage import discard_pending
    from db.models import ProcessedUpdate

    storage = h.app.storage
    async with h.app.sessionmaker() as s:
        s.add(ProcessedUpdate(update_id=1))
        await s.commit()
    async with h.app.sessionmaker() as s:
        token = current_session.set(s)
        try:
            await storage.set_state(KEY, "Flow:step2")
            s.add(ProcessedUpdate(update_id=1))  # the same update handled twice
            with pytest.raises(IntegrityError):
                await s.commit()
        finally:
            discard_pending(s)
            current_session.reset(token)
    assert await storage.get_state(KEY) is None
    async with h.app.sessionmaker() as s:
        assert await s.get(FsmRecord, "1:55:55:0:default") is None


async def test_a_command_in_a_caption_is_a_command(h):
    """aiogram reads commands from captions too: /cancel under a photo cancels the entry."""
    cid = await new_challenge(h)
    await make_student(h, 101)
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.send_content(photo=PHOTO, caption="/cancel")
    assert "Received" not in u.last_text()
    assert await h.app.storage.get_state(StorageKey(bot_id=h.app.bot.id, chat_id=101,
                                                    user_id=101)) is None
    await u.send_content(photo=PHOTO, caption="/stats")  # staff only, also in a caption
    assert "not available to you" in u.last_text()


# --- the inline SQLite driver ---------------------------------------------------------------

@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+inline:///{tmp_path}/inline.db")

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_conn, _record):
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)

    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.mark.sqlite_only("the inline SQLite driver")
async def test_statements_run_on_the_loop_thread_unless_offloaded(engine):
    sessions = create_sessionmaker(engine)
    async with sessions() as s:
        assert await s.scalar(text("SELECT thread_id()")) == threading.get_ident()
        with offloaded():
            assert await s.scalar(text("SELECT thread_id()")) != threading.get_ident()
            await s.execute(text("INSERT INTO t (name) VALUES ('in a thread')"))
        await s.commit()
    async with sessions() as s:
        assert await s.scalar(text("SELECT name FROM t")) == "in a thread"


@pytest.mark.sqlite_only("the inline SQLite driver")
async def test_offloaded_rows_are_read_after_the_statement_returns(engine):
    """A result is often read after `await session.execute(...)` has returned, outside
    SQLAlchemy's greenlet: the offloaded statement must have fetched its rows already."""
    sessions = create_sessionmaker(engine)
    async with sessions() as s:
        for n in range(150):
            await s.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"row {n}"})
        await s.commit()
        with offloaded():
            result = await s.execute(text("SELECT name FROM t ORDER BY id"))
            first = result.fetchone()
            rest = result.fetchmany(9)
            tail = result.all()
        assert first == ("row 0",) and len(rest) == 9 and len(tail) == 140
        with offloaded():  # every row is stepped in the worker thread, not just the first
            result = await s.execute(text("SELECT thread_id() FROM t"))
        assert threading.get_ident() not in {row[0] for row in result.all()}


@pytest.mark.sqlite_only("the inline SQLite driver")
async def test_driver_errors_are_sqlalchemy_errors_and_the_session_recovers(engine):
    sessions = create_sessionmaker(engine)
    async with sessions() as s:
        await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await s.commit()
        with pytest.raises(IntegrityError):
            await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await s.rollback()
        await s.execute(text("INSERT INTO t (name) VALUES ('b')"))
        await s.commit()
        assert await s.scalar(text("SELECT count(*) FROM t")) == 2


@pytest.mark.sqlite_only("the inline SQLite driver")
async def test_the_bot_database_works_through_the_inline_driver(h):
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Region)) == 20
        raw = await (await s.connection()).get_raw_connection()
        assert type(raw.driver_connection).__name__ == "InlineConnection"
        assert s.bind.dialect.driver == "inline"


# --- router-level gates --------------------------------------------------------------------

class AlphaCD(CallbackData, prefix="alpha"):
    n: int


class BetaCD(CallbackData, prefix="beta"):
    n: int


class Flow(StatesGroup):
    step = State()
    other = State()


def test_a_gate_lets_in_commands_and_its_states_only():
    router = Router()
    router.message(Command("go"))(lambda m: None)
    router.message(Flow.step, F.text)(lambda m: None)
    gate = message_gate(router.message.handlers)
    assert gate is not None
    assert gate.states == frozenset({"Flow:step"}) and gate.command_prefixes == "/"


def test_a_router_with_a_catch_all_message_handler_has_no_gate():
    router = Router()
    router.message(Command("go"))(lambda m: None)
    router.message(F.text)(lambda m: None)
    assert message_gate(router.message.handlers) is None


def _gated_dispatcher(*routers: Router) -> GatedDispatcher:
    dp = GatedDispatcher(disable_fsm=True)
    dp.include_routers(*routers)
    optimise_routing(dp)
    return dp


def _press(data: str) -> Update:
    return Update.model_validate({"update_id": 1, "callback_query": {
        "id": "1", "chat_instance": "c", "data": data,
        "from": {"id": 5, "is_bot": False, "first_name": "U"}}})


async def test_the_dispatcher_skips_a_router_its_gate_refuses_and_reaches_the_next():
    seen: list[str] = []
    first, second = Router(name="first"), Router(name="second")
    first.callback_query(AlphaCD.filter())(lambda cb: seen.append("first"))
    second.callback_query(BetaCD.filter())(lambda cb: seen.append("second"))
    dp = _gated_dispatcher(first, second)
    entered: list[str] = []
    enter = first.propagate_event

    async def entering(*args, **kwargs):
        entered.append("first")
        return await enter(*args, **kwargs)

    first.propagate_event = entering  # type: ignore[method-assign]
    await dp.feed_update(Bot(LOCAL_TOKEN, session=LocalSession()), _press("beta:1"))
    assert entered == []  # refused by its gate without going in
    await dp.feed_update(Bot(LOCAL_TOKEN, session=LocalSession()), _press("alpha:2"))
    assert seen == ["second", "first"] and entered == ["first"]


async def test_a_router_with_its_own_outer_middleware_is_entered_as_aiogram_would():
    """Its middleware runs even when no handler of it matches: it is not skipped."""
    seen: list[str] = []

    async def watch(handler, event, data):
        seen.append("middleware")
        return await handler(event, data)

    first, second = Router(name="first"), Router(name="second")
    first.callback_query.outer_middleware(watch)
    first.callback_query(AlphaCD.filter())(lambda cb: seen.append("first"))
    second.callback_query(BetaCD.filter())(lambda cb: seen.append("second"))
    dp = _gated_dispatcher(first, second)
    assert dp.skip_gates[(first, "callback_query")] is None
    await dp.feed_update(Bot(LOCAL_TOKEN, session=LocalSession()), _press("beta:1"))
    assert seen == ["middleware", "second"]


async def test_gates_are_not_stacked_when_a_second_app_is_built(h, tmp_path, clock):
    second = await make_harness(str(tmp_path / "second.db"), clock)
    try:
        for router in second.app.dp.chain_tail:
            for observer in (router.message, router.callback_query):
                gates = [f for f in observer._handler.filters or []
                         if type(f.callback).__name__ in ("PrefixGate", "MessageGate")]
                assert len(gates) <= 1, router.name
        await make_student(second, 101)
        u = second.user(101)
        await u.send("/help")
        assert u.last_text()
    finally:
        await second.close()


@pytest.mark.sqlite_only("the inline SQLite driver")
async def test_handlers_flagged_heavy_read_sqlite_in_a_worker_thread(engine):
    """/stats, exports and reports carry HEAVY_DB: their reads leave the loop free."""
    from bot.middlewares import HEAVY_DB

    sessions = create_sessionmaker(engine)

    async def report(message):
        async with sessions() as s:
            return await s.scalar(text("SELECT thread_id()"))

    routes = Routes("heavy")
    routes.message(Command("report"), flags=HEAVY_DB)(report)
    routes.message(Command("light"))(report)
    for _ in range(2):  # each Dispatcher gets routers of its own, wrapped once when built
        router = routes.router()
        dp = GatedDispatcher(disable_fsm=True)
        dp.include_router(router)
    heavy, light = router.message.handlers
    assert heavy.callback.__wrapped__ is report
    assert await heavy.call(object()) != threading.get_ident()
    assert await light.call(object()) == threading.get_ident()


# --- WAL checkpoints off the event loop ------------------------------------------------------

@pytest.mark.sqlite_only("WAL checkpoints")
def test_a_thread_copies_the_log_back_while_the_writer_goes_on(tmp_path):
    path = tmp_path / "wal.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as if the bot's backstop were far off
    writer.execute("CREATE TABLE t (x TEXT)")
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 2000)
    writer.execute("COMMIT")
    empty_file = path.stat().st_size
    checkpointer = WalCheckpointer(str(path), interval=0.01)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size == empty_file and time.monotonic() < deadline:
            time.sleep(0.01)
        writer.execute("INSERT INTO t VALUES ('after')")  # the writer was never blocked
    finally:
        checkpointer.stop()
    assert not checkpointer.running
    assert path.stat().st_size > 1_000_000  # the rows are in the database file itself now
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (2001,)


@pytest.mark.sqlite_only("WAL checkpoints")
async def test_the_log_stays_small_while_commits_keep_coming(tmp_path):
    """A checkpoint from another connection never completes under steady writes; the bot's
    own connection must still finish one now and then, or the log grows without end."""
    path = tmp_path / "busy.db"
    engine = create_engine(f"sqlite+inline:///{path}")
    checkpointer = WalCheckpointer(str(path), interval=0.005)
    largest = 0
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x BLOB)"))
        checkpointer.start()
        for _ in range(5000):  # ~20 MB through the log, one page or more a commit
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (randomblob(4000))"))
            largest = max(largest, Path(f"{path}-wal").stat().st_size)
    finally:
        checkpointer.stop()
        await engine.dispose()
    assert largest < 8 * 1024 * 1024, largest


@pytest.mark.sqlite_only("WAL checkpoints")
async def test_the_bot_checkpoints_in_a_thread_and_stops_it_on_close(tmp_path, clock):
    h = await make_harness(str(tmp_path / "bot.db"), clock)
    try:
        assert h.app.checkpointer is not None and h.app.checkpointer.running
    finally:
        await h.close()
    assert not h.app.checkpointer.running
