"""H1 (security review 2026-12): nobody stalls anybody.

A long read (/leaderboard, /stats, exports, /report, the coordinators' "who has not sent"
view) is held open here at its first statement — deterministically, by an engine hook that
parks the statement until the test lets it go — while other people press buttons and type.
On SQLite the bot had one connection, and the long read held it: everyone else waited
(60 s, then failed). Now long reads run on read-only connections of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiogram.types import Update
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.util.concurrency import await_

from bot.callbacks import ChallengeCD, LangCD
from bot.services import stats as st
from db.inline_sqlite import _offload
from db.models import ProcessedUpdate, User
from tests.conftest import STAFF_ID
from tests.factories import make_student
from tests.harness import BotHarness
from tests.test_stats import data  # noqa: F401  (the statistics fixture: users, a challenge…)

GUARD = 10  # s: only ever reached when something is stuck (the assertion then says what)


class Hold:
    """Parks the first statement a long read (a HEAVY_DB handler) runs, with its
    connection checked out, until `release` is set. It waits inside SQLAlchemy's greenlet,
    so the event loop runs on meanwhile, as it would during a long query."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.taken = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if self.taken or not _offload.get() or not statement.lstrip().upper().startswith(
                "SELECT"):
            return
        self.taken = True
        self.reached.set()
        await_(self.release.wait())


@contextmanager
def holding() -> Iterator[Hold]:
    hold = Hold()
    event.listen(Engine, "before_cursor_execute", hold)
    try:
        yield hold
    finally:
        hold.release.set()
        event.remove(Engine, "before_cursor_execute", hold)


async def finished(task: asyncio.Task[Any]) -> bool:
    done, _pending = await asyncio.wait({task}, timeout=GUARD)
    return task in done


async def stored_locale(h: BotHarness, tg_id: int) -> str:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User.locale).where(User.tg_id == tg_id))


async def others_are_served(h: BotHarness, hold: Hold) -> None:
    """While the long read is held: one person switches language (a write), another types
    a command; both are answered and the switch is stored."""
    assert await asyncio.wait_for(hold.reached.wait(), GUARD), "the long read never started"
    await make_student(h, 301)
    await make_student(h, 302)
    press = asyncio.create_task(h.user(301).press(LangCD(code="ru").pack()))
    typed = asyncio.create_task(h.user(302).send("/help"))
    assert await finished(press), "a button press waited for someone else's long read"
    assert await finished(typed), "a typed command waited for someone else's long read"
    assert "Язык изменён" in h.user(301).last_text()
    assert h.user(302).last_text()
    assert await stored_locale(h, 301) == "ru"


@pytest.mark.usefixtures("data")
async def test_h1_leaderboard_does_not_starve_other_users(h):
    with holding() as hold:
        leaderboard = asyncio.create_task(h.user(103).send("/leaderboard"))
        await others_are_served(h, hold)
        hold.release.set()
        assert await finished(leaderboard)
    assert "Place in the country: 2 of 3." in h.user(103).last_text()


HEAVY = [
    (STAFF_ID, "/leaderboard 2026-01-01 2026-12-31"),
    (STAFF_ID, "/stats week"),
    (STAFF_ID, "/export_stats week"),
    (STAFF_ID, "/report 2026"),
    (STAFF_ID, "/export_challenge 1"),
    (STAFF_ID, "/export_webinar 1"),
    (STAFF_ID, "/certificates export"),
    (201, ChallengeCD(action="gap", id=1).pack()),  # the coordinators' "who has not sent"
]


@pytest.mark.parametrize(("who", "what"), HEAVY, ids=[what for _who, what in HEAVY])
@pytest.mark.usefixtures("data")
async def test_h1_no_long_read_holds_the_connection_others_need(h, who, what):
    person = h.user(who)
    with holding() as hold:
        heavy = asyncio.create_task(person.press(what) if what.startswith("ch:")
                                    else person.send(what))
        await others_are_served(h, hold)
        hold.release.set()
        assert await finished(heavy)
    reply = h.api.last(who)
    assert reply.method in ("sendMessage", "sendPhoto", "sendDocument")


@pytest.mark.usefixtures("data")
async def test_h1_a_second_heavy_command_is_told_the_first_is_being_prepared(h):
    student = h.user(103)
    async with h.app.sessionmaker() as s:  # the student reads Russian
        (await s.scalar(select(User).where(User.tg_id == 103))).locale = "ru"
        await s.commit()
    h.app.users.forget(103)
    with holding() as hold:
        first = asyncio.create_task(student.send("/leaderboard"))
        assert await asyncio.wait_for(hold.reached.wait(), GUARD)
        second = asyncio.create_task(student.send("/leaderboard week"))
        assert await finished(second), "the second request waited for the first"
        assert student.last_text().startswith("⏳ Я ещё готовлю ответ на ваш предыдущий запрос")
        hold.release.set()
        assert await finished(first)
    assert "Место по стране: 2 из 3." in student.last_text()
    await student.send("/leaderboard week")  # the first is done: the next one is answered
    assert student.last_text().startswith("🏆 <b>Рейтинг: 02.03.2026 – 08.03.2026</b>")


STILL_PREPARING = ("⏳ I am still preparing your previous request. It will come in a moment; "
                   "then send the next one.")
TRY_AGAIN = ("The bot is very busy right now and could not finish this. Please try again in "
             "a minute.")


async def reads(h: BotHarness, tg_id: int, locale: str) -> None:
    async with h.app.sessionmaker() as s:
        (await s.scalar(select(User).where(User.tg_id == tg_id))).locale = locale
        await s.commit()
    h.app.users.forget(tg_id)


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
@pytest.mark.usefixtures("data")
async def test_h1_still_preparing_goes_out_whole_as_a_reply_and_an_alert(h, locale):
    """The strict Bot API (as Telegram: an alert holds 200 characters) takes the notice in
    every language, typed or pressed, and nothing cuts it."""
    coordinator = h.user(201)
    await reads(h, 201, locale)
    expected = h.app.i18n.t(locale, STILL_PREPARING)
    assert expected != STILL_PREPARING or locale == "en"
    gap = ChallengeCD(action="gap", id=1).pack()
    with holding() as hold:
        first = asyncio.create_task(coordinator.press(gap))
        assert await asyncio.wait_for(hold.reached.wait(), GUARD)
        pressed = await coordinator.press(gap)
        typed = await coordinator.send("/leaderboard week")
        hold.release.set()
        assert await finished(first)
    assert [(c.method, c.params["text"], c.params["show_alert"]) for c in pressed] == [
        ("answerCallbackQuery", expected, True)]
    assert [c.text for c in typed] == [expected]


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
async def test_h1_try_again_goes_out_whole_as_a_reply_and_an_alert(h, timeouts, locale):
    await make_student(h, 403, locale=locale)
    expected = h.app.i18n.t(locale, TRY_AGAIN)
    assert expected != TRY_AGAIN or locale == "en"
    timeouts[0] = 2
    replies = await h.user(403).send("/help")
    assert [c.text for c in replies] == [expected]
    timeouts[0] = 2
    replies = await h.user(403).press(LangCD(code="kk").pack())
    assert [(c.method, c.params["text"], c.params["show_alert"]) for c in replies] == [
        ("answerCallbackQuery", expected, True)]


@pytest.fixture
def computed(monkeypatch) -> list[tuple[Any, ...]]:
    """Every full ranking computed: (scope, first day, last day, challenge)."""
    calls: list[tuple[Any, ...]] = []
    original = st.leaderboard

    async def counting(session, scope, period=None, challenge_id=None, boards=st.BOARDS):
        calls.append((scope, period and period.first_day, period and period.last_day,
                      challenge_id))
        return await original(session, scope, period, challenge_id, boards)

    monkeypatch.setattr(st, "leaderboard", counting)
    return calls


@pytest.mark.usefixtures("data")
async def test_h1_a_students_leaderboard_is_kept_a_few_minutes(h, computed, clock):
    await h.user(103).send("/leaderboard")
    first = h.user(103).last_text()
    assert "Place in the country: 2 of 3." in first and "Place in your district: 1 of 1." in first
    assert len(computed) == 1  # country-wide; the district's place is cut from it
    await h.user(103).send("/leaderboard")
    await h.user(101).send("/leaderboard year")  # another student, the same ranking
    assert len(computed) == 1
    assert h.user(103).last_text() == first
    assert "School No. 1" in h.user(101).last_text()
    await h.user(101).send("/leaderboard week")
    assert len(computed) == 2  # another period: counted once, then kept as well
    clock.advance(minutes=st.BOARD_CACHE_TTL.seconds // 60 + 1)
    await h.user(103).send("/leaderboard")
    assert len(computed) == 3  # expired: counted again
    await h.user(STAFF_ID).send("/leaderboard year")
    await h.user(STAFF_ID).send("/leaderboard year")
    assert len(computed) == 5  # staff see the latest numbers, and any period they ask


@pytest.mark.usefixtures("data")
async def test_h1_students_may_ask_only_the_kept_periods(h, computed):
    for arg in ("2024-01-01 2026-12-31", "2025", "2026-03-01 2026-03-02", "challenge x"):
        await h.user(103).send(f"/leaderboard {arg}")
        assert "Write week, month or year (/leaderboard week)" in h.user(103).last_text()
    assert computed == []
    await h.user(201).send("/leaderboard 2024-01-01 2026-12-31")  # a coordinator may
    assert "Leaderboard: 01.01.2024 – 31.12.2026" in h.api.last(201).text
    assert len(computed) == 1


# --- an update that times out inside is retried, or the person is asked to try again ---

@pytest.fixture
def timeouts(monkeypatch) -> list[int]:
    """The access check (after the person and their language are known) fails with a pool
    time-out as many times as the list's first number says."""
    from bot.middlewares import AccessMiddleware

    left = [0]
    original = AccessMiddleware.__call__

    async def flaky(self, handler, event, update_data):
        if left[0] > 0:
            left[0] -= 1
            raise PoolTimeoutError("QueuePool limit of size 1 overflow 0 reached")
        return await original(self, handler, event, update_data)

    monkeypatch.setattr(AccessMiddleware, "__call__", flaky)
    return left


async def test_h1_an_update_that_times_out_is_handled_again(h, timeouts):
    await make_student(h, 401)
    timeouts[0] = 1
    replies = await h.user(401).send("/help")
    assert timeouts[0] == 0
    assert [c.method for c in replies] == ["sendMessage"]
    assert "/profile" in replies[0].text  # the menu itself, not an apology


async def test_h1_an_update_that_keeps_timing_out_asks_to_try_again(h, timeouts):
    await make_student(h, 402, locale="ru")
    timeouts[0] = 2
    replies = await h.user(402).send("/help")
    assert [c.text for c in replies] == [
        "Бот сейчас перегружен и не смог это выполнить. Попробуйте ещё раз через минуту."]
    timeouts[0] = 2
    replies = await h.user(402).press(LangCD(code="kk").pack())
    assert replies[-1].method == "answerCallbackQuery"
    assert replies[-1].params["show_alert"] is True
    assert replies[-1].params["text"].startswith("Бот сейчас перегружен")


# --- polling: a long read does not hold the next batch; a failed batch comes again ------

class Telegram:
    """getUpdates as Telegram answers it: everything from `offset` on, at most `limit`."""

    def __init__(self, h: BotHarness, stop: asyncio.Event) -> None:
        self.h, self.stop = h, stop
        self.pending: list[Update] = []
        self.offsets: list[int | None] = []
        self.confirmed = asyncio.Event()  # every update so far was confirmed
        self.ids = iter(range(5000, 6000))

    def queue(self, tg_id: int, text: str | None = None, press: str | None = None,
              name: str = "U") -> int:
        update_id = next(self.ids)
        sender = {"id": tg_id, "is_bot": False, "first_name": name}
        chat = {"id": tg_id, "type": "private"}
        if press is not None:
            payload = {"callback_query": {
                "id": f"cb{update_id}", "from": sender, "chat_instance": "ci", "data": press,
                "message": {"message_id": 1, "date": 0, "text": "…", "chat": chat}}}
        else:
            command = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            payload = {"message": {
                "message_id": update_id, "date": 0, "chat": chat, "from": sender, "text": text,
                **({"entities": command} if text.startswith("/") else {})}}
        self.pending.append(Update.model_validate({"update_id": update_id, **payload},
                                                  context={"bot": self.h.app.bot}))
        self.confirmed.clear()
        return update_id

    async def get_updates(self, offset: int | None = None, limit: int = 100,
                          **_kwargs: Any) -> list[Update]:
        self.offsets.append(offset)
        if offset is not None:
            self.pending = [u for u in self.pending if u.update_id >= offset]
        if not self.pending:
            self.confirmed.set()
            await asyncio.sleep(0)  # a long poll that found nothing
        return self.pending[:limit]


@pytest.fixture
def telegram(h, monkeypatch) -> Telegram:
    fake = Telegram(h, asyncio.Event())
    monkeypatch.setattr(h.app.bot, "get_updates", fake.get_updates)
    return fake


async def no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.mark.usefixtures("data")
async def test_h1_polling_fetches_the_next_batch_while_a_long_read_runs(h, telegram):
    from bot.polling import poll

    await make_student(h, 301)
    with holding() as hold:
        stats = telegram.queue(STAFF_ID, "/stats week")
        polling = asyncio.create_task(poll(h.app, telegram.stop, sleep=no_sleep))
        assert await asyncio.wait_for(hold.reached.wait(), GUARD)
        telegram.queue(301, press=LangCD(code="ru").pack())
        confirmed = asyncio.create_task(telegram.confirmed.wait())
        assert await finished(confirmed), "the next batch waited for a long read"
        assert "Язык изменён" in h.user(301).last_text()
        from db.models import ParkedUpdate

        # The same person's next update waits behind the long read, in order.
        help_ = telegram.queue(STAFF_ID, "/help")
        confirmed = asyncio.create_task(telegram.confirmed.wait())
        assert await finished(confirmed)
        assert h.api.texts(STAFF_ID) == []
        async with h.app.sessionmaker() as s:  # kept until handled: a crash cannot lose them
            assert set(await s.scalars(select(ParkedUpdate.update_id))) == {stats, help_}
        hold.release.set()
        telegram.stop.set()
        assert await finished(polling)
    answered = [c.method for c in h.api.calls if c.chat_id == STAFF_ID]
    assert answered == ["sendMessage", "sendPhoto", "sendMessage"]  # statistics, then /help
    assert "/stats" in h.api.last(STAFF_ID).text
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(ParkedUpdate))).all() == []
        assert await s.get(ProcessedUpdate, stats) and await s.get(ProcessedUpdate, help_)


async def test_h1_a_batch_that_fails_is_fetched_again_not_skipped(h, telegram, monkeypatch):
    import bot.polling as polling_module

    await make_student(h, 501)
    await make_student(h, 502)
    first, second = telegram.queue(501, "/help"), telegram.queue(502, "/help")
    original = polling_module.already_processed
    failures = [1]

    async def flaky(app, ids):
        if failures[0]:
            failures[0] -= 1
            raise PoolTimeoutError("QueuePool limit of size 1 overflow 0 reached")
        return await original(app, ids)

    monkeypatch.setattr(polling_module, "already_processed", flaky)
    polling = asyncio.create_task(polling_module.poll(h.app, telegram.stop, sleep=no_sleep))
    assert await finished(asyncio.create_task(telegram.confirmed.wait()))
    telegram.stop.set()
    assert await finished(polling)
    assert telegram.offsets[:2] == [None, None]  # the failed batch was not confirmed
    assert len(h.user(501).texts()) == 1 and len(h.user(502).texts()) == 1
    async with h.app.sessionmaker() as s:
        assert await s.get(ProcessedUpdate, first) and await s.get(ProcessedUpdate, second)


async def test_h1_updates_parked_at_a_crash_are_handled_at_start(h):
    from bot.polling import replay_parked
    from db.models import ParkedUpdate

    await make_student(h, 601)
    await make_student(h, 602)
    fake = Telegram(h, asyncio.Event())
    waiting = fake.queue(601, "/help")
    done = fake.queue(602, "/help")
    async with h.app.sessionmaker() as s:
        for update in fake.pending:
            s.add(ParkedUpdate(update_id=update.update_id,
                               payload=update.model_dump(mode="json", exclude_unset=True)))
        s.add(ProcessedUpdate(update_id=done))  # handled before the crash: not again
        await s.commit()
    assert await replay_parked(h.app) == 2
    assert len(h.user(601).texts()) == 1 and h.user(602).texts() == []
    async with h.app.sessionmaker() as s:
        assert await s.get(ProcessedUpdate, waiting) is not None
        assert (await s.scalars(select(ParkedUpdate))).all() == []


@pytest.mark.sqlite_only("SQLite's read-only connections (PostgreSQL's pool serves both)")
async def test_h1_the_read_connections_cannot_write_and_read_beside_the_writer(h):
    """The long reads' connections are read-only (a write there is a bug, and fails), and
    they read while the writer holds an open write transaction."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    assert h.app.read_sessionmaker is not None
    assert h.app.read_engine.sync_engine.hide_parameters  # their errors end up in logs too
    await make_student(h, 701)
    async with h.app.sessionmaker() as writer:
        await writer.execute(text("UPDATE users SET locale = 'ru' WHERE tg_id = 701"))
        async with h.app.read_session() as reader:  # the writer's transaction is still open
            assert await reader.scalar(select(User.locale).where(User.tg_id == 701)) == "en"
            with pytest.raises(OperationalError, match="readonly"):
                await reader.execute(text("UPDATE users SET locale = 'kk'"))
        await writer.commit()
    async with h.app.read_session() as reader:
        assert await reader.scalar(select(User.locale).where(User.tg_id == 701)) == "ru"
