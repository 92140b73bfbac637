"""Secrets stay out of logs; polling backs off when the Bot API is down and loses nothing."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.methods import GetUpdates
from aiogram.types import Update

from bot.logs import make_handler
from bot.polling import poll

TOKEN = "123456789:AAE_secret-token-value-abcdefghijk"


def capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = make_handler(fmt, [TOKEN], stream=stream)
    logger = logging.getLogger(f"test.redact.{fmt}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_the_token_never_reaches_the_log():
    logger, stream = capture("text")
    logger.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.warning("another token-looking value 987654321:ZZZ_another-secret-0123456789abc")
    text = stream.getvalue()
    assert TOKEN not in text and "ZZZ_another" not in text
    assert text.count("***") == 2


def test_json_log_lines():
    logger, stream = capture("json")
    logger.info("user %s did %s", 42, "something")
    record = json.loads(stream.getvalue().strip())
    assert record["message"] == "user 42 did something"
    assert record["level"] == "INFO"


class FlakyBot:
    """getUpdates fails three times (network, 502, network), then serves one update."""

    def __init__(self) -> None:
        self.calls = 0
        self.offsets: list[int | None] = []

    async def get_updates(self, offset=None, **kwargs):
        self.calls += 1
        self.offsets.append(offset)
        method = GetUpdates()
        if self.calls == 1 or self.calls == 3:
            raise TelegramNetworkError(method=method, message="unreachable")
        if self.calls == 2:
            raise TelegramServerError(method=method, message="Bad Gateway")
        if self.calls == 4:
            return [Update.model_validate({"update_id": 77, "message": {
                "message_id": 1, "date": 0, "text": "/help",
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "x"}}})]
        return []  # the confirming call on the way out


async def test_polling_backs_off_exponentially_and_resumes(h, monkeypatch):
    flaky = FlakyBot()
    handled: list[int] = []
    sleeps: list[float] = []
    stop = asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def record_batch(app, updates, running=None):
        handled.extend(u.update_id for u in updates)
        stop.set()
        return []  # nothing parked, still running

    monkeypatch.setattr("bot.polling.handle_batch", record_batch)

    class App:
        bot = flaky
        dp = h.app.dp

    await asyncio.wait_for(poll(App, stop, sleep=fake_sleep), 10)
    assert sleeps == [1.0, 2.0, 4.0]  # no tight loop: each failure waits twice as long
    assert handled == [77]
    assert flaky.offsets[-1] == 78  # the handled batch is confirmed on the way out
