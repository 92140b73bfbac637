"""Several instances on one database: the same answer on every one (issue 14).

Instance A and instance B are two apps, as two processes would be, on one PostgreSQL
database and, where said, one Redis. Their keys and channels carry a prefix of their own
(Redis outlives test runs and is shared), and their users get random ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.callbacks import ApproveCD, ConfirmCD, LangCD
from bot.middlewares import FLOOD_CHECK
from bot.services.users import UserCache
from bot.user_changes import ALONE_TTL, SUBSCRIBED_TTL, UserChanges
from tests import pg
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import BotHarness, Clock, make_harness
from tests.test_ratelimit_redis import redis_url

REFUSED = "Sorry, this command is not available to you."
BROADCAST_PROMPT = "Send me the announcement"
TOO_FAST = "You are sending messages too fast. Please wait a few seconds."


def new_id() -> int:
    return 10_000_000 + secrets.randbelow(10**9)


@contextlib.asynccontextmanager
async def two_instances(clock: Clock, redis: str | None, **settings: object,
                        ) -> AsyncIterator[tuple[BotHarness, BotHarness, int]]:
    """Instances A and B on one fresh PostgreSQL database; yields them and the staff id."""
    staff_id = new_id()
    settings = {"staff_ids": frozenset({staff_id}), "flood_limit": 100_000, **settings}
    if redis:
        settings |= {"redis_url": redis, "redis_prefix": f"test:{secrets.token_hex(4)}"}
    async with pg.fresh_database() as url:
        a = await make_harness(url, clock, **settings)
        b = await make_harness(url, clock, **settings)
        try:
            await make_staff(a, staff_id)
            yield a, b, staff_id
        finally:
            await a.close()
            await b.close()


async def broadcast_until(u, done, limit: float = 2.0) -> tuple[str, float]:
    """Send /broadcast until `done(reply)` (or `limit` real seconds pass): the last reply,
    and how long after the call it came."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        await u.send("/broadcast")
        elapsed = loop.time() - started
        if done(u.last_text()) or elapsed > limit:
            return u.last_text(), elapsed
        await asyncio.sleep(0.02)


# --- a user's change is seen by every instance --------------------------------------------

async def test_instances_role_change_seen_by_other_instance(clock) -> None:
    """Staff approve a coordinator on A; /broadcast works on B at once, through Redis."""
    async with two_instances(clock, redis_url()) as (a, b, staff_id):
        coordinator = await make_coordinator(a, new_id(), status="pending")
        on_b = b.user(coordinator.tg_id)
        await on_b.send("/broadcast")
        assert on_b.last_text() == REFUSED  # B now holds the pending coordinator

        await a.user(staff_id).press(ApproveCD(user_id=coordinator.id, ok=True).pack())
        assert "Approved" in a.user(staff_id).last_text()
        # The test clock stands still: only the announcement can reach B.
        reply, elapsed = await broadcast_until(on_b, lambda t: t != REFUSED)
        assert reply.startswith(BROADCAST_PROMPT), reply
        assert elapsed < 2.0


async def test_instances_role_change_seen_within_2s_without_redis(clock) -> None:
    """No REDIS_URL: B's copy expires, so B sees the approval within 2 s."""
    async with two_instances(clock, None) as (a, b, staff_id):
        coordinator = await make_coordinator(a, new_id(), status="pending")
        on_b = b.user(coordinator.tg_id)
        await on_b.send("/broadcast")
        assert on_b.last_text() == REFUSED

        await a.user(staff_id).press(ApproveCD(user_id=coordinator.id, ok=True).pack())
        clock.advance(seconds=ALONE_TTL)
        await on_b.send("/broadcast")
        assert on_b.last_text().startswith(BROADCAST_PROMPT)


async def test_instances_role_change_seen_at_once_in_one_process(h, clock) -> None:
    """One instance (SQLite's case, and every instance's own writes): no waiting at all."""
    staff = await make_staff(h)
    coordinator = await make_coordinator(h, 4_501, status="pending")
    u = h.user(coordinator.tg_id)
    await u.send("/broadcast")
    assert u.last_text() == REFUSED
    await h.user(staff.tg_id).press(ApproveCD(user_id=coordinator.id, ok=True).pack())
    await u.send("/broadcast")  # the clock has not moved
    assert u.last_text().startswith(BROADCAST_PROMPT)


async def test_instances_locale_and_erasure_seen_by_other_instance(clock) -> None:
    """A new language, and /deleteme, made on A are what B answers with."""
    async with two_instances(clock, redis_url()) as (a, b, _staff_id):
        student = await make_student(a, new_id(), locale="en")
        on_b = b.user(student.tg_id)
        await on_b.send("/broadcast")
        assert on_b.last_text() == REFUSED  # B holds the English student

        await a.user(student.tg_id).press(LangCD(code="ru").pack())
        text, _ = await broadcast_until(on_b, lambda t: t != REFUSED)
        assert text == "Извините, эта команда вам недоступна."

        await a.user(student.tg_id).send("/deleteme")
        await a.user(student.tg_id).press(ConfirmCD(action="erase", yes=True).pack())
        text, _ = await broadcast_until(on_b, lambda t: "/start" in t)
        assert "/start" in text  # a guest now: told to register


# --- the announcements themselves ---------------------------------------------------------

async def test_instances_every_user_write_is_announced(h) -> None:
    """Every service write that changes what the cache holds (role, status, locale, scope,
    limits, the account itself) tells the other instances."""
    from bot.services import guardian
    from bot.services import registration as reg
    from bot.services import staff as staff_rights
    from bot.services.personal_data import erase_user
    from bot.services.users import UserInfo
    from db.models import User

    announced: list[int] = []
    h.app.users.on_change = announced.append  # what bot.user_changes would send
    staff = await make_staff(h)
    student = await make_student(h, 4_601)
    coordinator = await make_coordinator(h, 4_602, status="pending")
    listed = await make_student(h, 4_604)  # an id in STAFF_IDS, registered as a student
    announced.clear()
    cache = h.app.users
    async with h.app.sessionmaker() as s:
        me, boss = await s.get(User, student.id), await s.get(User, staff.id)
        child = await reg.complete_registration(  # stored limited, with its age band
            s, cache, 4_603, 4_603, reg.Registration(locale="en", role="student",
                                                     age_band="u14"), "v1", False,
            guardian_age=16)
        assert child.limited and child.guardian_token
        await reg.set_locale(s, cache, UserInfo.of(me), "ru")
        await reg.update_profile(s, cache, me, "faction", "care")
        await guardian.confirm_guardian(s, cache, child.guardian_token, "v1", h.app.now(),
                                        UserInfo.of(boss))
        await reg.decide_coordinator(s, cache, boss, coordinator.id, True)
        await reg.promote_to_staff(s, cache, boss, coordinator.tg_id)
        await staff_rights.demote(s, cache, boss, coordinator.tg_id, h.app.now())
        await reg.promote_to_staff(s, cache, boss, coordinator.tg_id)  # staff_revoked_at goes
        report = await staff_rights.bootstrap(s, cache, frozenset({listed.tg_id}))
        assert report.promoted == [listed.tg_id]
        await erase_user(s, cache, me)
        await s.commit()
    assert announced == [4_603, 4_601, 4_601, 4_603, 4_602, 4_602, 4_602, 4_602, 4_604,
                         4_601]


async def test_instances_staff_ids_applied_at_start_are_announced_after_the_commit(
        clock, monkeypatch) -> None:
    """The start makes STAFF_IDS staff outside any update: the other instances still hear
    of it only once it is committed (before, they could read and keep the old row)."""
    from bot.services import staff as staff_rights

    async with two_instances(clock, redis_url()) as (a, _b, _staff_id):
        listener = Redis.from_url(redis_url())
        pubsub = listener.pubsub()
        await pubsub.subscribe(a.app.user_changes.channel)
        newcomer = await make_student(a, new_id())
        await asyncio.sleep(0.3)
        while await pubsub.get_message(timeout=0.1):  # the factory's own announcement
            pass
        heard_before_commit: list[object] = []
        original = staff_rights.bootstrap

        async def bootstrap_then_listen(*args: object) -> object:
            report = await original(*args)
            await asyncio.sleep(0.3)  # an announcement sent at once would be here by now
            while message := await pubsub.get_message(timeout=0.1):
                if message["type"] == "message":
                    heard_before_commit.append(message["data"])
            return report

        monkeypatch.setattr(staff_rights, "bootstrap", bootstrap_then_listen)
        a.app.settings = a.app.settings.model_copy(
            update={"staff_ids": frozenset({newcomer.tg_id})})
        await a.app.bootstrap_staff()
        await asyncio.sleep(0.3)
        heard = [m["data"].decode().split(":", 1)[1]
                 for m in [await pubsub.get_message(timeout=0.5)] if m]
        assert heard_before_commit == [] and heard == [str(newcomer.tg_id)]
        await pubsub.aclose()
        await listener.aclose()


async def test_instances_change_is_announced_only_after_commit(clock) -> None:
    """B must not read the old row again after hearing of the change: A announces once its
    transaction is committed, and a rolled-back change is not announced."""
    from sqlalchemy import select

    from bot.db_context import current_session
    from bot.services import registration
    from db.models import User

    async with two_instances(clock, redis_url()) as (a, _b, staff_id):
        listener = Redis.from_url(redis_url())
        pubsub = listener.pubsub()
        await pubsub.subscribe(a.app.user_changes.channel)

        async def heard_now() -> list[str]:
            """Announcements heard until the channel has been quiet for 0.3 s."""
            heard = []
            while message := await pubsub.get_message(timeout=0.3):
                if message["type"] == "message":
                    heard.append(message["data"].decode().split(":", 1)[1])
            return heard

        coordinator = await make_coordinator(a, new_id(), status="pending")
        assert str(coordinator.tg_id) in await heard_now()  # the factory's own

        for outcome in ("rollback", "commit"):
            async with a.app.sessionmaker() as s:
                token = current_session.set(s)
                try:
                    staff = await s.scalar(select(User).where(User.tg_id == staff_id))
                    await registration.decide_coordinator(
                        s, a.app.users, staff, coordinator.id, True)
                    assert await heard_now() == []  # not yet
                    await (s.rollback() if outcome == "rollback" else s.commit())
                finally:
                    current_session.reset(token)
        assert await heard_now() == [str(coordinator.tg_id)]
        await pubsub.aclose()
        await listener.aclose()


async def test_instances_without_redis_copies_expire_quickly() -> None:
    """A Redis that cannot be reached: copies live ALONE_TTL seconds, nothing waits on it,
    and a write is still handled (its announcement is retried, then given up)."""
    now = [0.0]
    cache = UserCache(ttl=SUBSCRIBED_TTL, clock=lambda: now[0])
    dead = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    changes = UserChanges(cache, dead, "test:users:changed")
    try:
        await changes.start(wait=0.5)
        assert not changes.subscribed.is_set()
        assert cache.ttl == ALONE_TTL
        cache.remember(1, None)
        now[0] += ALONE_TTL - 0.01
        assert cache.get(1) is None  # a known guest, still
        now[0] += 0.01
        assert cache.get(1) is False  # expired: the next update reads the database
        cache.forget(1)  # the announcement fails in the background, harmlessly
        await asyncio.sleep(0.1)
    finally:
        await changes.close()
        await dead.aclose()


async def test_instances_a_garbled_announcement_drops_what_it_names_and_nothing_breaks(
        ) -> None:
    """An announcement is read with ASCII digits only ("²" passes str.isdigit, then int()
    raised and the listener took it for a lost subscription, emptying the cache)."""
    cache = UserCache()
    for tg_id in (12, 13):
        cache.remember(tg_id, None)
    never_used = Redis.from_url("redis://127.0.0.1:1/0")
    changes = UserChanges(cache, never_used, "test:changed")
    changes._apply({"type": "message", "data": b"other:12,\xc2\xb2,x,-,"})
    assert cache.get(12) is False and cache.get(13) is None
    await never_used.aclose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- flood control ------------------------------------------------------------------------

async def test_instances_flood_limit_holds_across_instances(clock) -> None:
    async with two_instances(clock, redis_url(), flood_limit=3, flood_window=60) as (a, b, _):
        student = await make_student(a, new_id())
        on_a, on_b = a.user(student.tg_id), b.user(student.tg_id)
        for u in (on_a, on_b, on_a):
            await u.send("/help")
            assert u.last_text() != TOO_FAST
        await on_b.send("/help")  # the 4th within the window, wherever it arrives
        assert on_b.last_text() == TOO_FAST
        before = len(a.api.calls)
        await on_a.send("/help")
        assert a.api.calls[before:] == []  # dropped, and told only once per flood
        pressed = await on_a.press("noop")  # a button is always answered
        assert [c.params.get("text") for c in pressed] == [TOO_FAST]

        other = await make_student(b, new_id())
        await b.user(other.tg_id).send("/help")  # somebody else is not held up
        assert b.user(other.tg_id).last_text() != TOO_FAST


@pytest.mark.parametrize("redis_kind", ["refusing", "silent"])
async def test_instances_flood_control_falls_back_when_redis_fails(h, redis_kind) -> None:
    """Redis refusing connections or not answering: updates go on, counted per instance."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers
    port = silent.getsockname()[1] if redis_kind == "silent" else closed_port()
    broken = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    flood = h.app.flood
    # As build_app does with REDIS_URL, but with a Redis that is away.
    flood.limit, flood.window = 3, 60
    flood.redis, flood._check = broken, broken.register_script(FLOOD_CHECK)
    try:
        student = await make_student(h, 4_701)
        u = h.user(student.tg_id)
        async with asyncio.timeout(10):  # at most one Redis time-out, not one per update
            replies = [(await u.send("/help"))[-1].text for _ in range(4)]
        assert [r == TOO_FAST for r in replies] == [False, False, False, True]
    finally:
        await broken.aclose()
        silent.close()


# --- the PostgreSQL pass really runs on PostgreSQL ----------------------------------------

UNREACHABLE_PG = "postgresql+asyncpg://postgres@127.0.0.1:{port}/test"


@pytest.mark.parametrize("env", [
    {"TEST_DB": "postgres", "TEST_POSTGRES_URL": UNREACHABLE_PG},
    {"TEST_POSTGRES_URL": UNREACHABLE_PG},
    {"TEST_DB": "postgres"},
    {"TEST_REDIS_URL": "redis://127.0.0.1:{port}/0"},
], ids=["postgres-pass-unreachable", "sqlite-pass-unreachable", "postgres-pass-unset",
        "redis-unreachable"])
def test_instances_unreachable_postgres_is_a_problem(env, monkeypatch) -> None:
    """What the session start checks (see the next test for the run it stops)."""
    from tests.conftest import servers_problem

    for name in ("TEST_DB", "TEST_POSTGRES_URL", "TEST_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(port=closed_port()))
    problem = servers_problem()
    assert problem is not None
    assert ("TEST_REDIS_URL" if "TEST_REDIS_URL" in env else "TEST_POSTGRES_URL") in problem


def test_instances_unreachable_postgres_fails_the_run() -> None:
    """`make test` must not pass when the PostgreSQL it was given is not there: a run whose
    tests need no database at all still fails, before running any."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("TEST_DB", "TEST_POSTGRES_URL", "TEST_REDIS_URL")}
    full |= {"TEST_DB": "postgres", "TEST_POSTGRES_URL": UNREACHABLE_PG.format(port=closed_port())}
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_i18n.py"],
        cwd=root, env=full, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "TEST_POSTGRES_URL is set but unreachable" in result.stdout + result.stderr
    assert "passed" not in result.stdout
