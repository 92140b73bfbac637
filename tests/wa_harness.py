"""WhatsApp in the test harness: the production app with its WhatsApp side built on the
in-process fake Cloud API (tests/fake_whatsapp.py), and the webhook route served by aiohttp's
test server, so every message a `FakeWaUser` sends is a signed POST, as Meta would make it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.whatsapp.transport import WEBHOOK_PATH, WhatsApp, add_routes, build_whatsapp
from bot.notices import templates
from tests import fake_whatsapp as fw
from tests.harness import BotHarness

WA_SETTINGS: dict[str, Any] = {
    "whatsapp_token": fw.TOKEN, "whatsapp_phone_number_id": fw.PHONE_ID,
    "whatsapp_app_secret": fw.APP_SECRET, "whatsapp_verify_token": fw.VERIFY_TOKEN}
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


def approved_templates() -> list[dict[str, Any]]:
    """Every template the bot needs, approved as submitted: as the Cloud API lists them."""
    return [{"name": t.name, "language": t.language, "status": "APPROVED",
             "category": templates.CATEGORY, "components": t.definition()}
            for t in templates.required()]


class WaHarness:
    def __init__(self, h: BotHarness, api: fw.FakeCloudApi, wa: WhatsApp,
                 client: TestClient) -> None:
        self.h, self.api, self.wa, self.client = h, api, wa, client

    def user(self, address: str, name: str = "Aida", wa_id: str | None = None) -> FakeWaUser:
        return FakeWaUser(self, address, name, wa_id)

    async def post(self, body: bytes, signature: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        response = await self.client.post(WEBHOOK_PATH, data=body, headers=headers)
        return response.status

    async def close(self) -> None:
        await self.client.close()
        await self.wa.close()


async def attach_whatsapp(h: BotHarness) -> WaHarness:
    api = fw.FakeCloudApi()
    wa = build_whatsapp(h.app, transport=api.transport())
    web_app = web.Application()
    add_routes(web_app, wa)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    return WaHarness(h, api, wa, client)


class FakeWaUser:
    """A person writing to the bot's WhatsApp number."""

    def __init__(self, wh: WaHarness, address: str, name: str, wa_id: str | None) -> None:
        self.wh, self.address, self.name, self.wa_id = wh, address, name, wa_id

    async def post(self, message: dict[str, Any], wamid: str | None = None) -> list[fw.Sent]:
        """Deliver one message as a signed webhook; the messages the bot sent in reply."""
        start = len(self.wh.api.sent)
        body = json.dumps(fw.webhook(self.address, message, self.name, self.wa_id,
                                     wamid)).encode()
        status = await self.wh.post(body, fw.signature(body))
        assert status == 200, status
        return [s for s in self.wh.api.sent[start:] if s.to == self.address]

    async def send(self, text: str) -> list[fw.Sent]:
        return await self.post(fw.text(text))

    async def choose(self, title: str) -> list[fw.Sent]:
        """Pick the option containing `title` in the latest message that offers it: tap the
        reply button or the list row, or type the number of a numbered menu."""
        for sent in reversed(self.sent()):
            for option, data in zip(sent.titles, sent.ids, strict=True):
                full = _full_title(sent, option)
                if title in full and sent.type == "buttons":
                    return await self.post(fw.button_reply(data, option))
                if title in full and sent.type == "list":
                    return await self.post(fw.list_reply(data, option))
                if title in full and sent.type == "template":
                    return await self.post(fw.template_button(data, option, sent.wamid))
            for number, option in NUMBERED.findall(sent.body):
                if title in option:
                    return await self.send(number)
        raise AssertionError(f"no option {title!r} was offered to {self.address}")

    def sent(self) -> list[fw.Sent]:
        return self.wh.api.to(self.address)

    def last(self) -> fw.Sent:
        sent = self.sent()
        assert sent, f"the bot sent nothing to {self.address}"
        return sent[-1]

    def texts(self) -> list[str]:
        return [s.body or s.caption or "" for s in self.sent()]


def _full_title(sent: fw.Sent, title: str) -> str:
    """A list row's title with its description, where the cut title continues."""
    if sent.type == "list":
        index = sent.titles.index(title)
        return sent.descriptions[index] or title
    return title
