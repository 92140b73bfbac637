"""Secrets and personal data (review security-2026-12: M1, L5, M7, L9, L8, I4, I5).

Each test is named after the finding it holds down. The logs are read as an operator reads
them (the handler `python -m bot` installs); the database as an attacker with the disk would
(the raw bytes of the SQLite file and its write-ahead log).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import socket
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from bot.config import ConfigError, Settings, load_settings
from bot.factory import build_app, prepare
from bot.logs import setup_logging
from db.models import Delivery, FsmRecord, OutboxPayload, ParkedUpdate, User
from handlers import setup_routers
from tests.factories import STAFF_TG_ID, make_coordinator, make_staff, make_student
from tests.fake_telegram import FakeTelegram
from tests.harness import BotHarness, make_harness, migrated_copy

TOKEN = "1234567890:AAFakeTokenForTheSecurityReview_abcdEF"
NAME = "Zarinaunique Secretova"
SCHOOL = "Secretschool Lyceum 42"
ENTRY_TEXT = "ENTRYTEXT_private_essay"
COMMENT = "COMMENT_my_phone_87001234567"
REASON = "Photo shows Zarinaunique Secretova face, not allowed"
TG_ID = 777001234


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    """The harness on the suite's database, without the flood limit (long walks)."""
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_TG_ID}),
                                 flood_limit=100_000)
    yield harness
    await harness.close()


@contextlib.contextmanager
def operator_log(level: str, fmt: str, secret_values: list[str]) -> Iterator[io.StringIO]:
    """What `python -m bot` writes to its log, captured: the root handler it installs."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        setup_logging(level, fmt, secret_values)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        yield stream
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


# --- M1: the token (and every other secret) never reaches a log line --------------------

async def app_on_fake_telegram(db_url: str, api_url: str, **settings):
    if "://" in db_url:
        from db.migrate import upgrade_async

        url = db_url
        await upgrade_async(url)
    else:
        url = f"sqlite+inline:///{db_url}"
        await migrated_copy(db_url)
    app = build_app(Settings(_env_file=None, database_url=url, bot_token=TOKEN,
                             bot_api_base_url=api_url, staff_ids=frozenset({STAFF_TG_ID}),
                             **settings), routers=setup_routers)
    await prepare(app)
    return app


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_m1_token_not_in_traceback_text_and_json(db_url, fmt, level):
    """A self-hosted Bot API answers 404 for files: the download in /import_districts fails
    with aiohttp's error, whose text holds the file URL …/file/bot<TOKEN>/…"""
    fake = FakeTelegram()
    fake.file_status = 404
    app = await app_on_fake_telegram(db_url, await fake.start())
    h = BotHarness(app, fake)  # type: ignore[arg-type]
    try:
        with operator_log(level, fmt, [TOKEN]) as log:
            await make_staff(h)
            staff = h.user(STAFF_TG_ID)
            await staff.send("/import_districts")
            await staff.send_content(document={"file_id": "csv-1", "file_unique_id": "u1",
                                               "file_name": "fix.csv", "file_size": 100})
        output = log.getvalue()
    finally:
        await app.close()
        await fake.stop()
    assert "ClientResponseError" in output  # the failure is logged, with its class
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    apology = [c for c in fake.sent(STAFF_TG_ID) if "went wrong" in c.params.get("text", "")]
    assert apology  # and the staff member was told
    if fmt == "json":
        records = [json.loads(line) for line in output.splitlines() if line.strip()]
        assert any("exc" in r and "ClientResponseError" in r["exc"] for r in records)


def test_m1_every_secret_setting_is_redacted(monkeypatch):
    """The token, WEBHOOK_SECRET, METRICS_TOKEN and the passwords inside DATABASE_URL and
    REDIS_URL: in a message, in an exception's text and in the traceback, in both formats,
    also at DEBUG (where exception texts are written in full)."""
    webhook, metrics = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    settings = Settings(
        _env_file=None, bot_token=TOKEN, webhook_secret=webhook, metrics_token=metrics,
        database_url="postgresql+asyncpg://bot:Pg%40ss-w0rd%21@db.internal:5432/parliament",
        redis_url="redis://:R3dis-pass-Word@redis.internal:6379/0")
    values = settings.secret_values()
    hidden = [TOKEN, webhook, metrics, "Pg@ss-w0rd!", "Pg%40ss-w0rd%21", "R3dis-pass-Word"]
    for fmt in ("text", "json"):
        with operator_log("DEBUG", fmt, values) as log:
            logger = logging.getLogger("test.m1")
            logger.info("connecting to %s and %s", settings.database_url, settings.redis_url)
            logger.info("webhook %s, metrics %s", webhook, metrics)
            try:
                raise ConnectionError(f"cannot reach {settings.database_url} ({TOKEN})")
            except ConnectionError:
                logger.exception("start-up failed")
        output = log.getvalue()
        assert "ConnectionError" in output and "db.internal" in output
        for secret in hidden:
            assert secret not in output, (fmt, secret)


# --- L5: no names, schools, texts or SQL parameters in the logs -------------------------

async def make_inserts_fail(h: BotHarness, table: str) -> None:
    """Every INSERT into `table` fails in the database, as a constraint or a full disk would."""
    async with h.app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql(
                f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        else:
            await conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql")
            await conn.exec_driver_sql(
                f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fail_insert()")


async def register_member(u, school: str = SCHOOL) -> None:
    """A member in English up to the consent question."""
    await u.send("/start")
    await u.click("English")
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("Semey")
    await u.send(school)
    await u.click("Happiness")
    await u.click("Faction leader")
    await u.send("9")
    await u.click("16–17")
    assert "Consent to the processing of personal data" in u.last_text()


async def new_challenge(h: BotHarness) -> int:
    from bot.services import challenges as svc

    now = h.app.now()
    async with h.app.sessionmaker() as s:
        staff = await s.scalar(select(User).where(User.tg_id == STAFF_TG_ID))
        c = await svc.create_challenge(s, {
            "kind": "challenge", "title_kk": "Сынып", "title_ru": "Класс", "title_en": "Class",
            "description_kk": "С", "description_ru": "О", "description_en": "D",
            "audience": {}, "content_kinds": ["text"], "max_submissions": 1,
            "starts_at": now.isoformat(), "deadline_at": (now + timedelta(days=9)).isoformat(),
            "nominations": [], "categories": [], "review_tiers": []}, None, now)
        await svc.publish(s, h.app.challenge_notices, c.id, staff, now)
        await s.commit()
        return c.id


async def send_entry(h: BotHarness, u, challenge_id: int) -> None:
    await u.press(f"ch:submit:{challenge_id}:")
    await u.send(ENTRY_TEXT)
    await u.send(COMMENT)
    await u.click("Send")


async def test_l5_failed_registration_and_entry_log_no_personal_data(h):
    """The database refuses the new member's row, then an entry: SQLAlchemy's error text
    carries the row's values ([parameters: …]); the log keeps the class and the place."""
    await make_staff(h)
    challenge_id = await new_challenge(h)
    student = await make_student(h, TG_ID + 1, org_name=SCHOOL)
    with operator_log("INFO", "text", []) as log:
        u = h.user(TG_ID, NAME)
        await register_member(u)
        await make_inserts_fail(h, "users")
        await u.click("I agree")
        assert "went wrong" in h.api.of("answerCallbackQuery")[-1].params["text"]
        await make_inserts_fail(h, "submissions")
        await send_entry(h, h.user(TG_ID + 1), challenge_id)
        assert "went wrong" in h.api.of("answerCallbackQuery")[-1].params["text"]
    output = log.getvalue()
    assert output.count("update ") >= 2 and "sqlalchemy.exc." in output  # both, with a class
    assert "INSERT INTO users" in output  # the statement stays, for debugging
    assert f"user {student.id}" in output  # the internal id of who was affected
    for personal in (NAME, "Zarinaunique", SCHOOL, ENTRY_TEXT, COMMENT, "87001234567",
                     str(TG_ID), str(TG_ID + 1)):
        assert personal not in output, personal


async def test_l5_sql_parameters_are_hidden_even_at_debug(h):
    assert h.app.engine.sync_engine.hide_parameters
    await make_inserts_fail(h, "users")
    with operator_log("DEBUG", "json", []) as log:
        u = h.user(TG_ID, NAME)
        await register_member(u)
        await u.click("I agree")
    output = log.getvalue()
    assert "refused by the test" in output  # DEBUG writes the exception text …
    assert NAME not in output and SCHOOL not in output  # … without the statement's values


async def test_l5_delivery_logs_name_the_user_not_the_chat(h):
    from bot.notices.approvals import notify_promoted

    student = await make_student(h, TG_ID)
    async with h.app.sessionmaker() as s, s.begin():
        await notify_promoted(s, h.app.translator, await s.get(User, student.id))

    def refuse(call) -> None:
        if call.chat_id == TG_ID:
            raise TelegramBadRequest(method=SendMessage(chat_id=0, text="-"),
                                     message="Bad Request: chat not found")

    h.api.fault = refuse
    with operator_log("INFO", "text", []) as log:
        await h.drain()
    output = log.getvalue()
    assert f"user {student.id}" in output and "chat not found" in output
    assert str(TG_ID) not in output


def test_l5_exception_texts_stay_out_of_the_log_below_debug():
    """Exception texts can quote what a person typed (int('²'), a driver's DETAIL line):
    at INFO the log has the class and where it happened; DEBUG adds the text."""
    for level, shown in (("INFO", False), ("DEBUG", True)):
        with operator_log(level, "text", []) as log:
            try:
                int(f"{SCHOOL}")
            except ValueError:
                logging.getLogger("test.l5").exception("update 5 failed")
        output = log.getvalue()
        assert "ValueError" in output and "test_privacy.py" in output and "int(" in output
        assert (SCHOOL in output) is shown


# --- M7: /deleteme leaves nothing behind -------------------------------------------------

async def erase(u) -> None:
    await u.send("/deleteme")
    await u.click("Yes, erase")
    assert "erased" in u.last_text()


async def full_life(h: BotHarness) -> None:
    """Coordinator request, rejected, erased; then a member with an entry and a comment,
    rejected with a typed reason naming them; then erased again."""
    await make_staff(h)
    await make_coordinator(h, 201, level="regional")
    challenge_id = await new_challenge(h)
    u = h.user(TG_ID, NAME)
    await u.send("/start")
    await u.click("English")
    await u.click("Coordinator")
    await u.click("District (city) level")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("Semey")
    await u.send(SCHOOL)
    await u.click("I agree")
    await h.drain()
    # the request names them; it goes to the region's coordinator, who decides it (issue 17)
    assert any(NAME in t for t in h.user(201).texts())
    await h.user(201).click("Reject")
    await h.drain()
    await erase(u)
    await register_member(u)
    await u.click("I agree")
    await send_entry(h, u, challenge_id)
    reviewer = h.user(201)
    await reviewer.send("/review")
    await reviewer.click("Reject")
    await reviewer.click("Type a reason")
    await reviewer.send(REASON)
    await h.drain()
    assert any(REASON in t for t in u.texts())  # the reason reached them
    await erase(u)
    await h.drain()


async def test_m7_deleteme_purges_queued_payloads_about_the_person(h):
    await full_life(h)
    async with h.app.sessionmaker() as s:
        bodies = json.dumps((await s.scalars(select(OutboxPayload.body))).all(),
                            ensure_ascii=False)
        queued = (await s.scalars(select(Delivery.source_type).where(
            Delivery.status == "queued"))).all()
    for personal in (NAME, "Zarinaunique", SCHOOL, ENTRY_TEXT, COMMENT, REASON):
        assert personal not in bodies, personal
    assert queued == []
    assert "Class" in bodies  # other people's messages stay (the challenge announcement)


async def test_m7_a_coordinator_request_still_queued_is_not_sent_after_deleteme(h):
    await make_staff(h)
    u = h.user(TG_ID, NAME)
    await u.send("/start")
    await u.click("English")
    await u.click("Coordinator")
    await u.click("Regional level")
    await u.click("School")
    await u.click("Abai Region")
    await u.send(SCHOOL)
    await u.click("I agree")
    await erase(u)  # before the queue sent the request to staff
    await h.drain()
    assert not any(NAME in t or SCHOOL in t for t in h.user(STAFF_TG_ID).texts())
    async with h.app.sessionmaker() as s:
        statuses = (await s.scalars(select(Delivery.status).where(
            Delivery.source_type == "coordinator_request"))).all()
    assert statuses == ["cancelled"]


@pytest.mark.sqlite_only("the raw bytes of SQLite's own files (the payload purge runs on both)")
async def test_m7_erased_values_are_gone_from_the_sqlite_file_and_its_wal(h, db_url):
    await full_life(h)
    assert h.app.checkpointer is not None
    assert await h.app.checkpointer.wait_truncated(timeout=30)
    raw = b""
    for path in (Path(db_url), Path(f"{db_url}-wal")):
        if path.exists():
            raw += path.read_bytes()
    assert len(raw) > 100_000  # the database is there
    for personal in (NAME, "Zarinaunique", SCHOOL, ENTRY_TEXT, COMMENT, "87001234567",
                     "Photo shows", f":{TG_ID}:"):
        assert personal.encode() not in raw, personal


async def erase_while_parked(h: BotHarness, monkeypatch) -> list[int]:
    """Polling, as on the last evening of a contest: the person's /leaderboard is a long read
    (held here), so it and what they send next are parked (bot.polling) with the update as
    Telegram sent it: their name and what they typed. Then they confirm /deleteme. Returns
    the ids of their parked rows still there when the erasing update was handled."""
    import asyncio

    import bot.polling as polling
    from bot.callbacks import ConfirmCD
    from tests.test_h1_stall import Telegram, finished, holding

    await make_student(h, TG_ID, org_name=SCHOOL)
    telegram = Telegram(h, asyncio.Event())
    monkeypatch.setattr(h.app.bot, "get_updates", telegram.get_updates)
    left: list[int] = []
    unpark = polling._unpark

    async def unpark_after_erasure(app, ids) -> None:
        if confirm in ids:  # the erasing update is handled: what of theirs is still kept?
            async with app.sessionmaker() as s:
                left.extend(await s.scalars(select(ParkedUpdate.update_id).where(
                    ParkedUpdate.sender_id == TG_ID)))
        await unpark(app, ids)

    monkeypatch.setattr(polling, "_unpark", unpark_after_erasure)
    with holding() as hold:
        telegram.queue(TG_ID, "/leaderboard", name=NAME)
        running = asyncio.create_task(polling.poll(h.app, telegram.stop))
        assert await asyncio.wait_for(hold.reached.wait(), 10)
        telegram.queue(TG_ID, COMMENT, name=NAME)
        telegram.queue(TG_ID, "/deleteme", name=NAME)
        confirm = telegram.queue(TG_ID, press=ConfirmCD(action="erase", yes=True).pack(),
                                 name=NAME)
        assert await finished(asyncio.create_task(telegram.confirmed.wait()))
        async with h.app.sessionmaker() as s:  # parked as sent: the raw data is there
            kept = json.dumps((await s.scalars(select(ParkedUpdate.payload).where(
                ParkedUpdate.sender_id == TG_ID))).all())
        assert NAME in kept and COMMENT in kept
        hold.release.set()
        telegram.stop.set()
        assert await finished(running)
    assert "erased" in h.user(TG_ID).last_text()
    return left


async def test_m7_deleteme_deletes_the_persons_parked_updates(h, monkeypatch):
    with operator_log("INFO", "text", []) as log:
        left = await erase_while_parked(h, monkeypatch)
    assert left == []  # gone with the erasure itself, not only once handled
    async with h.app.sessionmaker() as s:
        assert (await s.scalars(select(ParkedUpdate))).all() == []
    output = log.getvalue()
    for personal in (NAME, SCHOOL, COMMENT, str(TG_ID)):
        assert personal not in output, personal


@pytest.mark.sqlite_only("the raw bytes of SQLite's own files (the parked rows go on both)")
async def test_m7_parked_updates_are_gone_from_the_sqlite_file_and_its_wal(h, db_url,
                                                                           monkeypatch):
    await erase_while_parked(h, monkeypatch)
    assert h.app.checkpointer is not None
    assert await h.app.checkpointer.wait_truncated(timeout=30)
    raw = b""
    for path in (Path(db_url), Path(f"{db_url}-wal")):
        if path.exists():
            raw += path.read_bytes()
    assert len(raw) > 100_000  # the database is there
    for personal in (NAME, SCHOOL, COMMENT, "87001234567"):
        assert personal.encode() not in raw, personal


async def test_l5_an_update_that_times_out_logs_no_personal_data(h, monkeypatch):
    """RetryOnTimeout logs the update's id and the error's class; a time-out's text (a
    driver may quote the statement's values) stays out of the log."""
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    from bot.middlewares import AccessMiddleware

    async def timing_out(self, handler, event, data):
        raise PoolTimeoutError(f"waited for {NAME} of {SCHOOL}")

    await make_student(h, TG_ID, org_name=SCHOOL)
    monkeypatch.setattr(AccessMiddleware, "__call__", timing_out)
    with operator_log("INFO", "json", []) as log:
        replies = await h.user(TG_ID, NAME).send(f"/help {COMMENT}")
    assert "try again in a minute" in replies[-1].text
    output = log.getvalue()
    assert "timed out twice (TimeoutError)" in output
    for personal in (NAME, SCHOOL, COMMENT, str(TG_ID)):
        assert personal not in output, personal


# --- L9: answers typed before consent expire --------------------------------------------

async def expire_fsm(h: BotHarness) -> None:
    from bot.scheduler import ticks

    [tick] = [t for job, _, t in ticks() if job == "fsm_expiry"]
    await tick(h.app)


async def fsm_rows(h: BotHarness) -> dict[str, dict]:
    async with h.app.sessionmaker() as s:
        return {r.key: r.data for r in (await s.scalars(select(FsmRecord))).all()}


async def test_l9_answers_before_consent_expire_after_24h_in_sql_storage(h, clock):
    left = h.user(TG_ID, NAME)
    await register_member(left)  # and never answers the consent question
    assert SCHOOL in json.dumps(await fsm_rows(h), ensure_ascii=False)
    clock.advance(hours=20)
    later = h.user(TG_ID + 1)
    await register_member(later, school="Another school")
    clock.advance(hours=3, minutes=59)
    await expire_fsm(h)
    assert len(await fsm_rows(h)) == 2  # 23 h 59 min: both still there
    clock.advance(minutes=2)
    await expire_fsm(h)
    rows = await fsm_rows(h)
    assert [k for k in rows if f":{TG_ID}:" in k] == []
    assert SCHOOL not in json.dumps(rows, ensure_ascii=False)
    assert "Another school" in json.dumps(rows, ensure_ascii=False)  # 4 h old: kept
    await left.click("I agree")  # the old consent button does not register anybody
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.tg_id == TG_ID)) is None
    await left.send("/start")
    assert "Choose your language" in left.last_text()  # a fresh start


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL not set")
    return url


async def test_l9_answers_before_consent_expire_after_24h_in_redis_storage(db_url, clock):
    from redis.asyncio import Redis

    url = redis_url()
    tg_id = 10**12 + secrets.randbelow(10**9)  # keys of this run only
    h = await make_harness(db_url, clock, redis_url=url, flood_limit=100_000)
    redis = Redis.from_url(url)
    try:
        u = h.user(tg_id, NAME)
        await register_member(u)
        keys = [k async for k in redis.scan_iter(f"fsm:*{tg_id}:{tg_id}:*")]
        assert {k.decode().rsplit(":", 1)[1] for k in keys} == {"state", "data"}
        assert SCHOOL in (await redis.get(next(k for k in keys if k.endswith(b"data")))).decode()
        for key in keys:
            assert 23 * 3600 < await redis.ttl(key) <= 24 * 3600
    finally:
        async for key in redis.scan_iter(f"fsm:*{tg_id}*"):
            await redis.delete(key)
        await redis.aclose()
        await h.close()


# --- L8: caches in the bot's own data folder ---------------------------------------------

async def test_l8_certificate_backgrounds_are_cached_in_the_private_data_folder(
        db_url, clock, tmp_path, monkeypatch):
    """A certificate with a background is issued, queued and sent: the background's file
    is in the data folder (mode 0700), the shared temporary folder stays empty."""
    from PIL import Image

    from bot.scheduler import certificates_tick
    from bot.services import certificates as certs
    from bot.services.pdf import background_digest, background_path
    from tests.test_certificates import attend, sent_documents, student, webinar

    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    data = tmp_path / "data"
    h = await make_harness(db_url, clock, data_dir=str(data))
    try:
        wid = await webinar(h)
        await attend(h, wid, await student(h, 101, NAME))
        picture = io.BytesIO()
        Image.new("RGB", (900, 640), (secrets.randbelow(255), 7, 9)).save(picture, "PNG")
        async with h.app.sessionmaker() as s:
            await certs.set_background(s, "webinar", picture.getvalue(), None)
            await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(),
                              h.app.settings.tz)
            await s.commit()
            jpeg = (await certs.get_settings(s, "webinar")).background
        await certificates_tick(h.app)
        await h.drain()
        assert len(sent_documents(h, 101)) == 1
        cached = Path(background_path(background_digest(jpeg)) or "")
    finally:
        await h.close()
    assert data in cached.parents and cached.is_file()
    for folder in (p for p in cached.parents if p == data or data in p.parents):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(cached.stat().st_mode) & 0o077 == 0
    assert list(shared.iterdir()) == []  # nothing in the shared temporary folder


def test_l8_the_data_folder_is_next_to_the_database_unless_set(tmp_path):
    sqlite = Settings(_env_file=None, database_url=f"sqlite+inline:///{tmp_path}/x/bot.db")
    assert sqlite.data_folder == tmp_path / "x"
    server = Settings(_env_file=None, database_url="postgresql+asyncpg://u@h/db")
    assert server.data_folder == Path("data")
    chosen = Settings(_env_file=None, data_dir=str(tmp_path / "d"))
    assert chosen.data_folder == tmp_path / "d"


def test_l8_temporary_files_of_the_process_go_to_the_data_folder(tmp_path, monkeypatch):
    """openpyxl writes exports (names, schools) through temporary files; matplotlib its
    font cache: `python -m bot` points both into the private data folder."""
    from bot import datadir

    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    datadir.use_data_folder(tmp_path / "data", process_temp=True)
    try:
        temp = Path(tempfile.gettempdir())
        assert temp.parent == tmp_path / "data" and stat.S_IMODE(temp.stat().st_mode) == 0o700
        assert Path(os.environ["MPLCONFIGDIR"]).parent == tmp_path / "data"
        with tempfile.NamedTemporaryFile() as f:
            assert Path(f.name).parent == temp
    finally:
        tempfile.tempdir = None


def test_l8_an_unusable_data_folder_stops_the_start(monkeypatch, tmp_path, capsys):
    import sys
    import threading

    from bot.__main__ import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+inline:///{tmp_path}/bot.db")
    for hook in ((sys, "excepthook"), (threading, "excepthook"), (tempfile, "tempdir")):
        monkeypatch.setattr(*hook, getattr(*hook))  # main() sets them: put them back after
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        assert main(["console"]) == 2
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    err = capsys.readouterr().err.strip()
    assert err.startswith("configuration error: DATA_DIR: cannot use") and "\n" not in err


# --- I4: /metrics and /healthz protected, without personal data --------------------------

METRICS_TOKEN = "m" * 8 + secrets.token_urlsafe(32)
WEBHOOK_SECRET = secrets.token_urlsafe(32)


def webhook_settings(h: BotHarness, **extra) -> None:
    settings = h.app.settings
    settings.webhook_url = "https://bot.example.kz/tg/hook"
    settings.webhook_secret = SecretStr(WEBHOOK_SECRET)
    for key, value in extra.items():
        setattr(settings, key, value)


async def test_i4_metrics_and_healthz_need_the_token_when_one_is_set(h):
    from bot.webhook import build_web_app

    webhook_settings(h, metrics_token=SecretStr(METRICS_TOKEN))
    await make_student(h, TG_ID, org_name=SCHOOL)
    client = TestClient(TestServer(build_web_app(h.app)))
    await client.start_server()
    try:
        for path in ("/metrics", "/healthz"):
            assert (await client.get(path)).status == 401
            wrong = {"Authorization": "Bearer " + METRICS_TOKEN[:-1]}
            assert (await client.get(path, headers=wrong)).status == 401
            ok = await client.get(path, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert ok.status == 200
            body = await ok.text()
            assert str(TG_ID) not in body and SCHOOL not in body
    finally:
        await client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_i4_metrics_and_healthz_on_their_own_bind(h):
    """METRICS_PORT: the webhook port serves only the webhook; the other one only these."""
    import asyncio

    from bot.webhook import run_webhook

    hook, monitor = free_port(), free_port()
    webhook_settings(h, webhook_port=hook, metrics_host="127.0.0.1", metrics_port=monitor)
    stop = asyncio.Event()
    server = asyncio.create_task(run_webhook(h.app, stop))
    try:
        async with ClientSession() as http:
            for _ in range(100):
                with contextlib.suppress(OSError):
                    async with http.get(f"http://127.0.0.1:{monitor}/healthz") as r:
                        break
                await asyncio.sleep(0.05)
            for path in ("/metrics", "/healthz"):
                async with http.get(f"http://127.0.0.1:{hook}{path}") as r:
                    assert r.status == 404
                async with http.get(f"http://127.0.0.1:{monitor}{path}") as r:
                    assert r.status == 200
            async with http.post(f"http://127.0.0.1:{monitor}/tg/hook", json={}) as r:
                assert r.status in (404, 405)
            async with http.post(f"http://127.0.0.1:{hook}/tg/hook", json={}) as r:
                assert r.status == 401  # the webhook is there, secret checked
    finally:
        stop.set()
        await server


async def test_i4_healthz_names_only_component_states(h):
    from bot.webhook import build_web_app

    webhook_settings(h, redis_url="redis://:R3dis-pass-Word@127.0.0.1:1/0")
    client = TestClient(TestServer(build_web_app(h.app)))
    await client.start_server()
    try:
        resp = await client.get("/healthz")
        assert resp.status == 503
        assert await resp.json() == {"database": "ok", "redis": "error"}
    finally:
        await client.close()


# --- I5: a weak WEBHOOK_SECRET stops the start ------------------------------------------

@pytest.mark.parametrize("secret", ["s3cret", "x" * 31, "y" * 31 + "!", "z" * 257])
def test_i5_weak_webhook_secret_is_refused_at_start(secret, monkeypatch, tmp_path, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.kz/tg/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+inline:///{tmp_path}/bot.db")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("configuration error: WEBHOOK_SECRET") and "\n" not in err
    assert secret not in err
    assert not (tmp_path / "bot.db").exists()  # stopped before anything was done


def test_i5_strong_secrets_are_accepted():
    for value in (secrets.token_urlsafe(32), "A-b_" * 8, "x" * 256):
        settings = Settings(_env_file=None, webhook_secret=value, metrics_token=value)
        assert settings.webhook_secret.get_secret_value() == value
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings(_env_file=None, metrics_token="short")
