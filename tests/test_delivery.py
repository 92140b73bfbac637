"""The delivery queue: pacing, every error path, priorities, crash safety, enqueueing."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections import Counter
from datetime import timedelta

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from sqlalchemy import insert, select, update

from bot.delivery import MAX_ATTEMPTS, DeliveryWorker
from bot.pacing import VirtualTimer
from bot.services.delivery import (
    PRIORITY_PERSONAL,
    Button,
    OutgoingMessage,
    Recipient,
    enqueue,
    enqueue_select,
)
from db.base import utcnow
from db.migrate import upgrade_async
from db.models import Delivery, User
from tests.harness import make_harness

METHOD = SendMessage(chat_id=1, text="x")


async def add_users(h, n: int, start: int = 10_000, locale: str = "en") -> list[int]:
    """n students straight in the database; returns their ids (chat id = tg id)."""
    async with h.app.sessionmaker() as s, s.begin():
        await s.execute(insert(User), [
            {"tg_id": start + i, "chat_id": start + i, "role": "student", "status": "active",
             "locale": locale, "blocked_bot": False, "settings": {}, "channel": "telegram",
             "created_at": utcnow(), "updated_at": utcnow()} for i in range(n)])
        return list((await s.scalars(select(User.id).where(User.tg_id >= start)
                                     .order_by(User.id))).all())


async def queue(h, n: int, start: int = 10_000, source: str = "test", sid: int = 1,
                priority: int = 5, text: str = "Hello") -> int:
    ids = await add_users(h, n, start)
    async with h.app.sessionmaker() as s, s.begin():
        return await enqueue(s, source, sid,
                             [Recipient(uid, start + i) for i, uid in enumerate(ids)],
                             {"default": OutgoingMessage(text=text)}, priority=priority)


def worker(h, rate: float | None = 25.0, channels=None,
           **kw) -> tuple[DeliveryWorker, VirtualTimer]:
    timer = VirtualTimer(start=1000.0)
    return DeliveryWorker(channels or h.app.channels, h.app.sessionmaker, rate=rate,
                          timer=timer, **kw), timer


def record_times(h, timer: VirtualTimer) -> list[tuple[float, int]]:
    times: list[tuple[float, int]] = []
    h.api.listeners.append(lambda call: times.append((timer.now, call.chat_id)))
    return times


async def statuses(h) -> Counter:
    async with h.app.sessionmaker() as s:
        return Counter((await s.scalars(select(Delivery.status))).all())


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window + 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_rate_is_never_exceeded_and_evenly_paced(h):
    await queue(h, 120)
    w, timer = worker(h, rate=25)
    times = record_times(h, timer)
    assert await w.drain() == 120
    moments = [t for t, _ in times]
    assert len(moments) == 120
    assert max_in_window(moments) <= 25
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert min(gaps) >= 0.04 - 1e-9  # even spacing, no bursts
    elapsed = moments[-1] - moments[0]
    assert 119 / elapsed >= 0.9 * 25


async def test_one_chat_gets_at_most_one_message_a_second(h):
    ids = await add_users(h, 2)
    async with h.app.sessionmaker() as s, s.begin():
        for n in range(5):
            await enqueue(s, "notice", n, [Recipient(ids[0], 10_000), Recipient(ids[1], 10_001)],
                          {"default": OutgoingMessage(text=f"n{n}")})
    w, timer = worker(h, rate=1000)
    times = record_times(h, timer)
    assert await w.drain() == 10
    for chat in (10_000, 10_001):
        assert max_in_window([t for t, c in times if c == chat]) <= 1


async def test_429_pauses_everyone_then_retries(h):
    await queue(h, 30)
    w, timer = worker(h, rate=25)
    times = record_times(h, timer)
    state = {"calls": 0, "at": None}

    def fault(call):
        state["calls"] += 1
        if state["calls"] == 10:
            state["at"] = timer.now
            raise TelegramRetryAfter(method=METHOD, message="Too Many Requests", retry_after=7)

    h.api.fault = fault
    assert await w.drain() == 30
    assert await statuses(h) == Counter(sent=30)
    assert len({c for _, c in times}) == 30  # everyone once, the refused one retried
    after = [t for t, _ in times if t > state["at"]]
    assert after and min(after) >= state["at"] + 7  # nobody sent during the pause
    assert max_in_window([t for t, _ in times]) <= 25  # and no burst after it


async def test_403_marks_the_user_unreachable_and_is_not_retried(h):
    await queue(h, 3)

    def fault(call):
        if call.chat_id == 10_001:
            raise TelegramForbiddenError(method=METHOD, message="Forbidden: bot was blocked")

    h.api.fault = fault
    w, _ = worker(h)
    assert await w.drain() == 3
    assert await w.drain() == 0
    assert await statuses(h) == Counter(sent=2, blocked=1)
    async with h.app.sessionmaker() as s:
        blocked = (await s.scalars(select(User.tg_id).where(User.blocked_bot))).all()
    assert blocked == [10_001]


async def test_chat_not_found_fails_with_reason(h):
    await queue(h, 2)

    def fault(call):
        if call.chat_id == 10_000:
            raise TelegramBadRequest(method=METHOD, message="Bad Request: chat not found")

    h.api.fault = fault
    w, _ = worker(h)
    await w.drain()
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery).where(Delivery.chat_id == 10_000))
    assert (row.status, row.attempts) == ("failed", 1)
    assert "chat not found" in row.error


async def test_server_errors_back_off_then_succeed(h):
    await queue(h, 1)
    failures = {"left": 2}

    def fault(call):
        if failures["left"]:
            failures["left"] -= 1
            raise TelegramServerError(method=METHOD, message="Internal Server Error")

    h.api.fault = fault
    offset = {"s": 0.0}
    w, _ = worker(h, now=lambda: utcnow() + timedelta(seconds=offset["s"]))
    assert await w.drain() == 1
    assert await w.drain() == 0  # the retry is not due yet
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery))
    assert (row.status, row.attempts) == ("queued", 1)
    offset["s"] += 2.5
    assert await w.drain() == 1  # second failure, backoff doubles
    offset["s"] += 2.5
    assert await w.drain() == 0
    offset["s"] += 2
    assert await w.drain() == 1
    assert await statuses(h) == Counter(sent=1)
    assert len(h.api.of("sendMessage")) == 1


async def test_network_errors_fail_after_the_retry_limit_with_reason(h):
    await queue(h, 1)

    def fault(call):
        raise TelegramNetworkError(method=METHOD, message="Request timeout error")

    h.api.fault = fault
    offset = {"s": 0.0}
    w, _ = worker(h, now=lambda: utcnow() + timedelta(seconds=offset["s"]))
    for _ in range(MAX_ATTEMPTS):
        await w.drain()
        offset["s"] += 3600
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery))
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "Request timeout error" in row.error
    assert await w.drain() == 0


async def test_personal_messages_go_before_the_rest_of_a_broadcast(h):
    await queue(h, 20, source="broadcast")
    ids = await add_users(h, 1, start=50_000)
    async with h.app.sessionmaker() as s, s.begin():
        await enqueue(s, "reminder", 1, [Recipient(ids[0], 50_000)],
                      {"default": OutgoingMessage(text="Reminder")}, priority=PRIORITY_PERSONAL)
    w, _ = worker(h)
    await w.drain()
    sent = [c.chat_id for c in h.api.of("sendMessage")]
    assert sent[0] == 50_000


async def test_stopped_worker_then_a_new_one_reach_everyone_exactly_once(h):
    await queue(h, 60)
    first, _ = worker(h, rate=25)
    count = {"n": 0}

    def listener(call):
        count["n"] += 1
        if count["n"] == 17:
            first.stop()

    h.api.listeners.append(listener)
    done = await first.drain()
    assert 17 <= done < 60
    assert (await statuses(h))["sending"] == 0  # claimed rows were given back
    second, _ = worker(h, rate=25)
    assert await second.drain() == 60 - done
    per_chat = Counter(c.chat_id for c in h.api.of("sendMessage"))
    assert len(per_chat) == 60 and set(per_chat.values()) == {1}


async def test_claims_of_a_crashed_worker_are_sent_once_after_their_lease(h):
    await queue(h, 5)
    async with h.app.sessionmaker() as s, s.begin():  # a worker died holding two rows
        rows = (await s.scalars(select(Delivery.id).order_by(Delivery.id).limit(2))).all()
        await s.execute(update(Delivery).where(Delivery.id.in_(rows)).values(
            status="sending", claimed_by="dead", next_attempt_at=utcnow() + timedelta(minutes=5)))
    w, _ = worker(h)
    assert await w.drain() == 3  # the dead worker's lease still runs
    later, _ = worker(h, now=lambda: utcnow() + timedelta(minutes=6))
    assert await later.drain() == 2
    assert await later.drain() == 0
    per_chat = Counter(c.chat_id for c in h.api.of("sendMessage"))
    assert len(per_chat) == 5 and set(per_chat.values()) == {1}


async def test_enqueue_is_idempotent_and_counts_only_new_rows(h):
    assert await queue(h, 3) == 3
    async with h.app.sessionmaker() as s, s.begin():
        ids = (await s.scalars(select(User.id).order_by(User.id))).all()
        again = await enqueue(s, "test", 1, [Recipient(ids[0], 10_000), Recipient(ids[1], 1)],
                              {"default": OutgoingMessage(text="x")})
        assert again == 0
        assert await enqueue(s, "test", 1, [], {"default": OutgoingMessage(text="x")}) == 0


async def test_enqueue_select_picks_the_payload_by_language(h):
    await add_users(h, 2, start=10_000, locale="ru")
    await add_users(h, 1, start=20_000, locale="kk")
    async with h.app.sessionmaker() as s, s.begin():
        people = select(User.id, User.chat_id, User.locale)
        payloads = {"kk": OutgoingMessage(text="Сәлем"), "ru": OutgoingMessage(text="Привет")}
        assert await enqueue_select(s, "broadcast", 7, people, payloads) == 3
        assert await enqueue_select(s, "broadcast", 7, people, payloads) == 0
    w, _ = worker(h)
    assert await w.drain() == 3
    assert h.api.texts(20_000) == ["Сәлем"]
    assert h.api.texts(10_001) == ["Привет"]


async def test_buttons_entities_and_albums_reach_the_api(h):
    ids = await add_users(h, 1)
    album = OutgoingMessage(kind="album", media=[
        {"kind": "photo", "file_id": "P1", "caption": "Look", "entities": [
            {"type": "bold", "offset": 0, "length": 4}]},
        {"kind": "video", "file_id": "V1"}])
    text = OutgoingMessage(text="Read it", entities=[{"type": "italic", "offset": 0,
                                                      "length": 4}],
                           buttons=[[Button("✅ Received", callback_data="x:1")]])
    async with h.app.sessionmaker() as s, s.begin():
        await enqueue(s, "a", 1, [Recipient(ids[0], 10_000)], {"default": album})
        await enqueue(s, "b", 1, [Recipient(ids[0], 10_000)], {"default": text})
    w, _ = worker(h)
    assert await w.drain() == 2
    group = h.api.of("sendMediaGroup", 10_000)[0]
    assert [m["media"] for m in group.params["media"]] == ["P1", "V1"]
    assert group.params["media"][0]["caption_entities"][0]["type"] == "bold"
    msg = h.api.of("sendMessage", 10_000)[0]
    assert msg.params["entities"][0]["type"] == "italic"
    assert msg.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Received"


async def test_the_payload_cache_is_bounded_by_bytes_too(h, monkeypatch):
    """Messages that carry their file (old-style certificates, .ics) are cached by size:
    never more than PAYLOAD_CACHE_BYTES, and each person still gets their own file, even
    one file bigger than the whole bound."""
    import base64

    import bot.delivery as delivery

    monkeypatch.setattr(delivery, "PAYLOAD_CACHE_BYTES", 50_000)
    ids = await add_users(h, 12)
    files = {10_000 + i: bytes([i]) * (20_000 if i < 11 else 80_000) for i in range(12)}
    async with h.app.sessionmaker() as s, s.begin():
        for i, uid in enumerate(ids):
            data = files[10_000 + i]
            message = OutgoingMessage(kind="document", filename=f"{i}.bin",
                                      document_bytes_b64=base64.b64encode(data).decode())
            await enqueue(s, "file", i, [Recipient(uid, 10_000 + i)], {"default": message})
    w, _ = worker(h)
    cached: list[tuple[int, int]] = []  # (entries, bytes) at every send
    h.api.listeners.append(lambda call: cached.append((len(w._payloads), w._payload_bytes)))
    assert await w.drain() == 12
    assert await statuses(h) == Counter(sent=12)
    for chat_id, data in files.items():
        [doc] = h.api.of("sendDocument", chat_id)
        assert doc.files["document"] == data
    # ~27 KB of base64 each, 107 KB for the last: within the bound, or the newest alone
    assert len(cached) == 12
    assert all(size <= 50_000 or entries == 1 for entries, size in cached)
    assert max(entries for entries, _ in cached) <= 1 + 50_000 // 26_000
    assert w._payload_bytes == sum(size for _, size in w._payloads.values())


# --- channels -------------------------------------------------------------------------------
class Recorder:
    """A second channel that records what it is asked to send (and may refuse it)."""

    name, can_edit = "other", False

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[tuple[int, str | None]] = []
        self.error = error

    async def send(self, address, message, document=None):
        if self.error is not None:
            raise self.error
        self.sent.append((address, message.text))
        return len(self.sent)

    async def edit(self, address, message_id, message):
        raise AssertionError("a channel that cannot edit is never asked to")


async def queue_on(h, channel: str, chat_ids: list[int], text: str = "Hi") -> None:
    ids = await add_users(h, len(chat_ids), start=chat_ids[0])
    async with h.app.sessionmaker() as s, s.begin():
        await enqueue(s, f"to_{channel}", 1,
                      [Recipient(uid, chat, channel=channel)
                       for uid, chat in zip(ids, chat_ids, strict=True)],
                      {"default": OutgoingMessage(text=text)})


async def test_each_row_goes_out_through_the_channel_it_names(h):
    await queue(h, 2)  # telegram, as every row so far
    await queue_on(h, "other", [30_000, 30_001], text="Elsewhere")
    other = Recorder()
    w, _ = worker(h, channels={**h.app.channels, "other": other})
    assert await w.drain() == 4
    assert sorted(c.chat_id for c in h.api.of("sendMessage")) == [10_000, 10_001]
    assert sorted(other.sent) == [(30_000, "Elsewhere"), (30_001, "Elsewhere")]
    async with h.app.sessionmaker() as s:
        rows = (await s.execute(select(Delivery.chat_id, Delivery.channel, Delivery.status,
                                       Delivery.sent_message_id))).all()
    assert {(chat, channel, status) for chat, channel, status, _ in rows} == {
        (10_000, "telegram", "sent"), (10_001, "telegram", "sent"),
        (30_000, "other", "sent"), (30_001, "other", "sent")}
    assert all(message_id for *_, message_id in rows)


async def test_a_row_for_an_unknown_channel_fails_with_a_reason(h):
    await queue_on(h, "whatsapp", [30_000])
    w, _ = worker(h)  # this process has Telegram only
    assert await w.drain() == 1
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery))
    assert (row.status, row.attempts) == ("failed", 1)
    assert "whatsapp" in row.error
    assert not h.api.calls
    assert await w.drain() == 0  # never retried


async def test_a_retry_after_for_one_recipient_delays_only_that_row(h):
    from bot.channels import RetryAfter

    await queue(h, 2)
    await queue_on(h, "other", [30_000])
    w, _ = worker(h, channels={**h.app.channels,
                               "other": Recorder(RetryAfter(30, per_recipient=True))})
    assert await w.drain() == 3
    assert await statuses(h) == Counter(sent=2, queued=1)  # the others were not held up
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery).where(Delivery.channel == "other"))
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=25)


async def test_enqueue_select_takes_each_rows_channel_from_a_fourth_column(h):
    await add_users(h, 2, start=10_000)
    async with h.app.sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.tg_id == 10_001).values(channel="other"))
        people = select(User.id, User.chat_id, User.locale, User.channel)
        assert await enqueue_select(s, "broadcast", 7, people,
                                    {"en": OutgoingMessage(text="Hello")}) == 2
        plain = select(User.id, User.chat_id, User.locale)
        assert await enqueue_select(s, "broadcast", 8, plain,
                                    {"en": OutgoingMessage(text="Hello")}) == 2
        rows = (await s.execute(select(Delivery.source_id, Delivery.chat_id, Delivery.channel)
                                .order_by(Delivery.source_id, Delivery.chat_id))).all()
    assert rows == [(7, 10_000, "telegram"), (7, 10_001, "other"),
                    (8, 10_000, "telegram"), (8, 10_001, "telegram")]


@pytest.mark.sqlite_only("a queue written before migration 0012, in a SQLite file")
async def test_messages_queued_before_the_upgrade_still_go_out_through_telegram(tmp_path, clock):
    path = tmp_path / "bot.db"
    await upgrade_async(f"sqlite+inline:///{path}", "0011")
    with sqlite3.connect(path) as db:  # what the bot before channels left in its queue
        db.execute("INSERT INTO users (id, tg_id, chat_id, channel, role, status, locale, "
                   "blocked_bot, settings, created_at, updated_at) VALUES (1, 777, 777, "
                   "'telegram', 'student', 'active', 'en', 0, '{}', '2026-03-01 06:00:00.000000',"
                   " '2026-03-01 06:00:00.000000')")
        db.execute("INSERT INTO outbox_payloads (id, body, created_at) VALUES (1, ?, "
                   "'2026-03-01 06:00:00.000000')", ('{"kind": "text", "text": "Before"}',))
        db.execute("INSERT INTO deliveries (dedup_key, source_type, source_id, user_id, chat_id, "
                   "payload_id, priority, status, attempts, next_attempt_at, created_at) "
                   "VALUES ('notice:1::1', 'notice', 1, 1, 777, 1, 1, 'queued', 0, "
                   "'2026-03-01 06:00:00.000000', '2026-03-01 06:00:00.000000')")
    h = await make_harness(str(path), clock)  # migrates the file to the head
    try:
        async with h.app.sessionmaker() as s:
            assert await s.scalar(select(Delivery.channel)) == "telegram"
        assert await h.drain() == 1
        assert h.api.texts(777) == ["Before"]
    finally:
        await h.close()


class SlowFirst(Recorder):
    """The first message takes longer to send than the next (a fresh lookup, a slow
    upload): without turns per chat the second would overtake it."""

    async def send(self, address, message, document=None):
        if message.text == "first":
            await asyncio.sleep(0.05)
        return await super().send(address, message, document)


async def test_messages_to_one_chat_go_out_in_the_order_they_were_queued(h):
    [uid] = await add_users(h, 1, start=30_000)
    async with h.app.sessionmaker() as s, s.begin():
        for n, text in enumerate(["first", "second", "third"]):
            await enqueue(s, "notice", n, [Recipient(uid, 30_000, channel="other")],
                          {"default": OutgoingMessage(text=text)})
    other = SlowFirst()
    w, _ = worker(h, channels={**h.app.channels, "other": other}, rate=None)
    assert await w.drain() == 3
    assert [text for _, text in other.sent] == ["first", "second", "third"]
