"""End to end over real HTTP: `python -m bot run` with WhatsApp alone (no BOT_TOKEN) against
the fake Cloud API on 127.0.0.1; signed webhooks posted to the bot's own port."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests import fake_whatsapp as fw
from tests.e2e import BotProcess, wait_until

pytestmark = pytest.mark.e2e
BSUID = "KZ.33333333333333333333"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def post(port: int, message: dict, secret: str = fw.APP_SECRET) -> int:
    body = json.dumps(fw.webhook(BSUID, message, "Dana")).encode()
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"http://127.0.0.1:{port}/whatsapp", content=body, headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": fw.signature(body, secret)})
    return answer.status_code


async def test_whatsapp_alone_registration_starts_over_http(tmp_path):
    api = fw.FakeCloudApi()
    served = await fw.serve(api)
    port = free_port()
    bot = BotProcess("", tmp_path / "bot.db", extra_env={
        "BOT_TOKEN": "", "BOT_API_BASE_URL": "", "WHATSAPP_TOKEN": fw.TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": fw.PHONE_ID, "WHATSAPP_APP_SECRET": fw.APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": fw.VERIFY_TOKEN, "WHATSAPP_API_BASE_URL": api.base_url,
        "WEBHOOK_PORT": str(port)})
    await bot.start()
    try:
        await wait_until(lambda: _listening(port), 60, "the WhatsApp webhook")
        assert await post(port, fw.text("/start"), secret="forged") == 401
        assert await post(port, fw.text("/start")) == 200
        await wait_until(lambda: any(s.type == "buttons" for s in api.to(BSUID)), 60,
                         "language buttons")
        languages = api.to(BSUID)[-1]
        assert languages.titles == ["Қазақша", "Русский", "English"]
        assert await post(port, fw.button_reply(languages.ids[2], "English")) == 200
        await wait_until(lambda: any("Who are you" in s.body for s in api.to(BSUID)), 60,
                         "role question")
        assert bot.proc.returncode is None
    finally:
        code = await bot.terminate()
        await served.cleanup()
    assert code == 0, bot.log()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
