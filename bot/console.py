"""A local chat in the terminal, driving the real Dispatcher, handlers and database through
the in-process Bot API (no network, no token). Works interactively and with piped stdin.

    > /start              text and commands go to the bot
    > 2                   a number presses the button with that number
    > /as 900             talk as another Telegram user id (e.g. a staff id)
    > /quit
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import time
from typing import Any, TextIO

from aiogram.types import Update

from bot.app import App, RouterBuilder
from bot.config import Settings
from bot.factory import build_app, prepare
from bot.local_api import BOT_ID, ApiCall, LocalSession
from bot.scheduler import run_all_ticks
from bot.services.numbers import as_int
from db.migrate import upgrade_async

TAG = re.compile(r"<[^>]+>")
SHOWN = {"sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAnimation", "sendAudio",
         "sendVoice", "sendMediaGroup", "editMessageText", "editMessageCaption", "copyMessage",
         "answerCallbackQuery"}


def body_of(call: ApiCall) -> str:
    """A message as text: tags dropped, the kind of media and the files named."""
    body = TAG.sub("", call.text or "")
    if call.method not in ("sendMessage", "editMessageText"):
        body = f"[{call.method[4:] or call.method}] {body}".strip()
    if call.files:
        body += "  (file: " + ", ".join(f"{k}, {len(v)} bytes" for k, v in
                                         call.files.items()) + ")"
    return body


class Console:
    def __init__(self, app: App, api: LocalSession, out: TextIO = sys.stdout) -> None:
        self.app, self.api, self.out = app, api, out
        self.user_id = 1001
        self.buttons: list[dict[str, Any]] = []
        self._ids = itertools.count(int(time.time()))
        api.listeners.append(self.show)

    def show(self, call: ApiCall) -> None:
        if call.method not in SHOWN:
            return
        if call.method == "answerCallbackQuery":
            if call.params.get("text"):
                self.print(f"  [!] {call.params['text']}")
            return
        to = call.chat_id
        who = "" if to == self.user_id else f" → to {to}"
        self.print(f"bot{who}: {body_of(call)}")
        if to == self.user_id:
            self.show_buttons(call)

    def show_buttons(self, call: ApiCall) -> None:
        markup = call.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        if rows:
            self.buttons = [b for row in rows for b in row]
            for n, button in enumerate(self.buttons, start=1):
                self.print(f"   [{n}] {button['text']}")

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def handle_line(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line.startswith("/as "):
            user_id = as_int(line.split()[1])
            if user_id is None:
                self.print("(usage: /as <Telegram id, digits 0-9>)")
                return True
            self.user_id, self.buttons = user_id, []
            self.print(f"(now talking as user {self.user_id})")
            return True
        if (number := as_int(line)) is not None and 1 <= number <= len(self.buttons):
            await self.press(self.buttons[number - 1])
        else:
            await self.feed({"message": self._message(line)})
        await self.app.delivery.drain()
        return True

    async def press(self, button: dict[str, Any]) -> None:
        if button.get("url"):
            self.print(f"(link: {button['url']})")
            return
        if "callback_data" not in button:
            await self.feed({"message": self._message(button["text"])})
            return
        await self.feed({"callback_query": {
            "id": str(next(self._ids)), "from": self._from(), "chat_instance": "console",
            "data": button["callback_data"],
            "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                        "chat": {"id": self.user_id, "type": "private"},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"}}}})

    def _from(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": f"User {self.user_id}"}

    def _message(self, text: str) -> dict[str, Any]:
        msg: dict[str, Any] = {"message_id": next(self._ids), "date": int(time.time()),
                               "chat": {"id": self.user_id, "type": "private"},
                               "from": self._from(), "text": text}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
        return msg

    async def feed(self, payload: dict[str, Any]) -> None:
        update = Update.model_validate({"update_id": next(self._ids), **payload},
                                       context={"bot": self.app.bot})
        await self.app.dp.feed_update(self.app.bot, update)


async def run_console(settings: Settings, *, routers: RouterBuilder, stdin: TextIO = sys.stdin,
                      out: TextIO = sys.stdout) -> None:
    await upgrade_async(settings.database_url)
    api = LocalSession()
    app = build_app(settings.model_copy(update={"bot_token": None}), routers=routers,
                    session=api)
    await prepare(app)
    await run_all_ticks(app)
    console = Console(app, api, out)
    interactive = stdin.isatty()
    console.print("Local console: you are chatting with the bot without Telegram. "
                  "Type /start. A number presses a button; /as ID switches user "
                  f"(staff ids: {sorted(settings.staff_ids) or 'none, set STAFF_IDS'}); "
                  "/quit leaves.")
    try:
        while True:
            if interactive:
                print(f"[{console.user_id}]> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not interactive:
                console.print(f"[{console.user_id}]> {line.rstrip()}")
            if not await console.handle_line(line):
                break
            await run_all_ticks(app)
    finally:
        await app.close()
