"""End to end: a 500-recipient broadcast from the real bot process over HTTP, with 429s, 403s
and 500s injected and a `kill -9` in the middle; every reachable recipient gets it."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from db.migrate import upgrade_async
from tests.e2e import BotProcess, wait_until
from tests.fake_telegram import FakeTelegram, Fault

pytestmark = pytest.mark.e2e
STAFF = 900
STUDENTS = list(range(50_000, 50_500))
BLOCKED = frozenset(STUDENTS[::50])  # 10 people blocked the bot
ANNOUNCEMENT = "Parliament session on Friday at 15:00"


async def seed(db_path) -> None:
    await upgrade_async(f"sqlite+inline:///{db_path}")
    with sqlite3.connect(db_path) as conn:
        rows = [(STAFF, "staff")] + [(tg, "student") for tg in STUDENTS]
        conn.executemany(
            "insert into users (tg_id, chat_id, channel, locale, role, status, region_id, "
            "org_type, org_name, consent_at, consent_version, blocked_bot, settings, "
            "created_at, updated_at, limited) values (?, ?, 'telegram', 'en', ?, 'active', 1, "
            "'school', 'School', '2026-01-01', 'v', 0, '{}', '2026-01-01', '2026-01-01', 0)",
            [(tg, tg, role) for tg, role in rows])


async def press(fake: FakeTelegram, text: str) -> None:
    await wait_until(lambda: any(text in b["text"] for b in fake.buttons(STAFF)),
                     what=f"button {text!r}")
    button = next(b for b in fake.buttons(STAFF) if text in b["text"])
    fake.user_press(STAFF, button["callback_data"])


def received(fake: FakeTelegram) -> Counter:
    return Counter(int(c.params["chat_id"]) for c in fake.sent(method="sendMessage")
                   if c.params.get("text") == ANNOUNCEMENT)


async def test_broadcast_with_faults_and_a_kill_reaches_everyone_once(tmp_path):
    fake = FakeTelegram()
    await fake.start()
    db = tmp_path / "bot.db"
    await seed(db)
    fake.faults += [
        Fault("send*", 403, count=10_000, chat_ids=BLOCKED,
              description="Forbidden: bot was blocked by the user"),
        # Faults on the broadcast's deliveries (the author's own chat is tested elsewhere).
        Fault("send*", 429, count=3, retry_after=1, description="Too Many Requests",
              chat_ids=frozenset(STUDENTS)),
        Fault("send*", 500, count=5, description="Internal Server Error",
              chat_ids=frozenset(STUDENTS)),
    ]
    env = {"DELIVERY_RATE": "100"}
    bot = BotProcess(f"http://127.0.0.1:{fake.port}", db, extra_env=env)
    await bot.start()
    restarted = None
    try:
        fake.user_text(STAFF, "/broadcast")
        await wait_until(lambda: len(fake.sent(STAFF)) >= 1, what="compose prompt")
        fake.user_text(STAFF, ANNOUNCEMENT)
        await press(fake, "Students")
        await press(fake, "No confirmation")
        await press(fake, "Send now")
        await wait_until(lambda: sum(received(fake).values()) >= 150, what="first deliveries")
        await bot.kill()
        restarted = BotProcess(f"http://127.0.0.1:{fake.port}", db, extra_env=env)
        await restarted.start()
        reachable = [tg for tg in STUDENTS if tg not in BLOCKED]
        await wait_until(lambda: all(received(fake)[tg] >= 1 for tg in reachable), 240,
                         "every reachable student")
        got = received(fake)
        assert all(got[tg] == 0 for tg in BLOCKED)
        duplicates = sum(got[tg] - 1 for tg in reachable)
        assert duplicates <= 8, f"{duplicates} duplicates (only sends in flight may repeat)"
        assert any(c.method == "!sendMessage" for c in fake.calls)  # faults were injected
        await wait_until(lambda: _blocked_in_db(db) == len(BLOCKED), 60, "blocked recorded")
    finally:
        for process in (restarted, bot):
            if process and process.proc and process.proc.returncode is None:
                await process.terminate()
        await fake.stop()


def _blocked_in_db(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from users where blocked_bot = 1").fetchone()[0]
