"""Webhook mode: the secret is checked, a good update is answered, a repeated one is not."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram.types import Update
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.inflight import InFlight
from bot.local_api import ApiCall
from bot.services.delivery import OutgoingMessage, Recipient, enqueue
from bot.webhook import SECRET_HEADER, build_web_app, run_webhook
from db.models import ProcessedUpdate
from tests.harness import BotHarness, Clock, make_harness
from tests.test_ratelimit_redis import redis_url

SECRET = "s3cret-token_1-of-the-webhook-tests"  # 32+ characters, as required


@pytest.fixture
async def wh(db_url: str, clock: Clock) -> AsyncIterator[tuple[BotHarness, TestClient]]:
    harness = await make_harness(db_url, clock, webhook_url="https://bot.example.kz/tg/hook",
                                 webhook_secret=SECRET)
    client = TestClient(TestServer(build_web_app(harness.app)))
    await client.start_server()
    yield harness, client
    await client.close()
    await harness.close()


def start_update(update_id: int, tg_id: int = 501) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1767000000, "text": "/start",
        "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": "Aruzhan"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


async def post(client: TestClient, payload: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    resp = await client.post("/tg/hook", json=payload, headers=headers)
    return resp.status


async def processed(h: BotHarness) -> int:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(ProcessedUpdate))


async def test_good_update_is_answered(wh) -> None:
    h, client = wh
    assert await post(client, start_update(10_001)) == 200
    assert "Choose your language" in h.api.last(501).text
    assert await processed(h) == 1
    metrics = await (await client.get("/metrics")).text()
    assert "bot_updates_handled_total 1.0" in metrics
    assert "bot_webhook_rejected_total 0.0" in metrics


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
async def test_wrong_or_missing_secret_is_refused(wh, secret: str | None) -> None:
    h, client = wh
    assert await post(client, start_update(10_002), secret=secret) == 401
    assert h.api.texts(501) == []
    assert await processed(h) == 0
    assert "bot_webhook_rejected_total 1.0" in await (await client.get("/metrics")).text()


async def test_duplicate_update_is_handled_once(wh) -> None:
    h, client = wh
    for _ in range(3):
        assert await post(client, start_update(10_003)) == 200
    assert len([t for t in h.api.texts(501) if "Choose your language" in t]) == 1
    assert await processed(h) == 1
    metrics = await (await client.get("/metrics")).text()
    assert "bot_duplicate_updates_total 2.0" in metrics
    assert "bot_updates_handled_total 1.0" in metrics


@contextlib.asynccontextmanager
async def instances(h: BotHarness, count: int, redis: str | None,
                    delay: float = 0.0) -> AsyncIterator[list[TestClient]]:
    """`count` webhook servers on one app (one database), sharing Redis as instances do;
    `delay` keeps each update in hand a while before it is handled."""
    settings = h.app.settings
    settings.webhook_url = "https://bot.example.kz/tg/hook"
    settings.webhook_secret = SecretStr(SECRET)
    settings.redis_url = redis
    feed = h.app.dp.feed_update

    async def slow_feed(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(delay)
        return await feed(*args, **kwargs)

    h.app.dp.feed_update = slow_feed  # type: ignore[method-assign]
    clients = [TestClient(TestServer(build_web_app(h.app))) for _ in range(count)]
    for client in clients:
        await client.start_server()
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


def a_new_update_id() -> int:
    return 10_000_000 + secrets.randbelow(10**9)  # Redis outlives test runs


async def test_two_instances_given_the_same_retry_at_once_answer_it_once(h) -> None:
    """Telegram retries to a second instance while the first is still on the update: the
    second says 503 (try later), and a later retry finds it done."""
    update = start_update(a_new_update_id())
    async with instances(h, 2, redis_url(), delay=0.3) as (first, second):
        async with asyncio.timeout(10):
            statuses = await asyncio.gather(post(first, update), post(second, update))
        assert sorted(statuses) == [200, 503]
        assert await post(second, update) == 200
    assert len([t for t in h.api.texts(501) if "Choose your language" in t]) == 1
    assert await processed(h) == 1


async def test_a_claim_left_by_a_dead_instance_lapses_and_the_retry_is_handled(h) -> None:
    update_id = a_new_update_id()
    left = Redis.from_url(redis_url())
    try:
        await left.set(f"bot:webhook:in_flight:{update_id}", "dead-instance", ex=1)
        async with instances(h, 1, redis_url()) as (instance,):
            async with asyncio.timeout(10):
                assert await post(instance, start_update(update_id)) == 503
                assert h.api.texts(501) == []
                await asyncio.sleep(1.2)
                assert await post(instance, start_update(update_id)) == 200
    finally:
        await left.aclose()
    assert "Choose your language" in h.api.last(501).text


async def test_a_claim_is_dropped_only_by_its_holder(monkeypatch) -> None:
    """A holder whose claim lapsed (it took too long) must not drop the next holder's."""
    url = redis_url()
    monkeypatch.setattr("bot.inflight.TTL", 1)
    monkeypatch.setattr("bot.inflight.REFRESH", 60)  # no keeping alive: let ours lapse
    ours, theirs, third = (InFlight(Redis.from_url(url)) for _ in range(3))
    update_id = a_new_update_id()
    try:
        async with asyncio.timeout(10):
            assert await ours.claim(update_id)
            assert not await theirs.claim(update_id)
            await asyncio.sleep(1.2)
            assert await theirs.claim(update_id)
            await ours.release(update_id)  # too late: the claim is theirs now
            assert not await third.claim(update_id)
            await theirs.release(update_id)
            assert await third.claim(update_id)
            await third.release(update_id)
    finally:
        for claims in (ours, theirs, third):
            await claims.redis.aclose()


async def test_a_claim_is_kept_alive_while_its_update_is_handled(monkeypatch) -> None:
    monkeypatch.setattr("bot.inflight.TTL", 1)
    monkeypatch.setattr("bot.inflight.REFRESH", 0.3)
    ours, theirs = (InFlight(Redis.from_url(redis_url())) for _ in range(2))
    update_id = a_new_update_id()
    try:
        async with asyncio.timeout(10):
            assert await ours.claim(update_id)
            await asyncio.sleep(2)  # twice the TTL: handled slowly
            assert not await theirs.claim(update_id)
            await ours.release(update_id)
            assert await theirs.claim(update_id)
            await theirs.release(update_id)
    finally:
        for claims in (ours, theirs):
            await claims.redis.aclose()


async def test_a_redis_that_does_not_answer_does_not_hold_updates_up(h, monkeypatch) -> None:
    """One time-out, then Redis is left alone for a while: updates go on at full speed."""
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    monkeypatch.setattr("bot.inflight.REDIS_TIMEOUT", 0.5)
    try:
        async with instances(h, 1, f"redis://127.0.0.1:{port}/0") as (instance,):
            async with asyncio.timeout(5):
                assert await post(instance, start_update(a_new_update_id())) == 200
            started = time.monotonic()
            for n in range(3):
                assert await post(instance, start_update(a_new_update_id(), 600 + n)) == 200
            assert time.monotonic() - started < 0.5  # not one more time-out
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
    assert "Choose your language" in h.api.last(501).text


async def test_an_update_that_failed_before_its_reply_is_handled_on_retry(h) -> None:
    update = Update.model_validate(start_update(10_011), context={"bot": h.app.bot})

    def fail(_tg_id: int) -> None:
        raise RuntimeError("the database went away")

    real = h.app.users.get
    h.app.users.get = fail  # the user lookup, before anything is sent
    with contextlib.suppress(RuntimeError):  # the errors hook may already have taken it
        await h.app.dp.feed_update(h.app.bot, update, guard_update=True)
    h.app.users.get = real
    assert await processed(h) == 0
    await h.app.dp.feed_update(h.app.bot, update, guard_update=True)
    assert "Choose your language" in h.api.last(501).text
    assert await processed(h) == 1


async def test_not_an_update_is_a_bad_request(wh) -> None:
    _, client = wh
    resp = await client.post("/tg/hook", data=b"{oops", headers={SECRET_HEADER: SECRET})
    assert resp.status == 400


async def test_healthz_reports_database(wh) -> None:
    _, client = wh
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"database": "ok", "redis": "not configured"}


async def test_healthz_fails_when_redis_is_unreachable(wh) -> None:
    h, client = wh
    await client.close()
    h.app.settings.redis_url = "redis://127.0.0.1:1/0"
    broken = TestClient(TestServer(build_web_app(h.app)))
    await broken.start_server()
    try:
        resp = await broken.get("/healthz")
        assert resp.status == 503
        assert (await resp.json())["redis"].startswith("error")
    finally:
        await broken.close()


async def test_metrics_count_errors_and_the_queue(wh) -> None:
    h, client = wh

    def broken(call: ApiCall) -> None:
        if call.method == "sendMessage":
            raise RuntimeError("Bot API unreachable")

    h.api.fault = broken
    assert await post(client, start_update(10_004)) == 200
    h.api.fault = None
    async with h.app.sessionmaker() as s:
        await enqueue(s, "notice", 1, [Recipient(None, 77), Recipient(None, 78)],
                      {"default": OutgoingMessage(text="hi")})
        await s.commit()
    metrics = await (await client.get("/metrics")).text()
    assert "bot_handler_errors_total 1.0" in metrics
    assert 'bot_delivery_queue_depth{status="queued"} 2.0' in metrics
    assert "\nbot_delivery_oldest_due_seconds " in metrics


async def test_run_webhook_serves_and_registers_the_webhook(db_url: str, clock: Clock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = await make_harness(db_url, clock, webhook_url="https://bot.example.kz/tg/hook",
                           webhook_secret=SECRET, webhook_port=port)
    stop = asyncio.Event()
    server = asyncio.create_task(run_webhook(h.app, stop))
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):  # until the server listens (and setWebhook was called)
                if h.api.of("setWebhook"):
                    break
                await asyncio.sleep(0.01)
            hook = h.api.of("setWebhook")[0].params
            assert hook["url"] == "https://bot.example.kz/tg/hook"
            assert hook["secret_token"] == SECRET
            async with http.post(f"http://127.0.0.1:{port}/tg/hook", json=start_update(10_005),
                                 headers={SECRET_HEADER: SECRET}) as resp:
                assert resp.status == 200
        assert "Choose your language" in h.api.last(501).text
    finally:
        stop.set()
        await server
        await h.close()
