"""The console's chat: lines typed (or piped) become the updates Telegram would send; what
the bot answers is printed, its files saved, its buttons numbered."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from aiogram.types import Update

from bot.app import App
from bot.console.clock import ShiftedClock, parse_target, stops
from bot.console.files import FileSaver, incoming, split_send
from bot.console.screen import Screens, Shown, choose, plain
from bot.local_api import ApiCall, LocalSession
from bot.scheduler import run_all_ticks
from bot.services.numbers import as_int

SHOWN = {"sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAnimation", "sendAudio",
         "sendVoice", "sendMediaGroup", "editMessageText", "editMessageCaption", "copyMessage",
         "answerCallbackQuery", "editMessageReplyMarkup"}
BLOCK_START, BLOCK_END = "<<<", ">>>"
HELP = """Console commands (everything else goes to the bot as typed):
  N            press button N of your latest message (a typed label presses that button)
  /as ID [NAME]   talk as Telegram user ID (named NAME); buttons waiting for them are listed
  /buttons     list the buttons waiting for you
  /say TEXT    send TEXT as typed, even a number that matches a button
  <<<          start a multi-line message; a line with >>> alone sends it
  /send PATH [caption]   send a photo, video or document from disk
  /clock [+2d | +3h | 2026-03-12 09:00 | now]   show or move the bot's clock
  /files       where the files the bot sends are saved
  /quit"""


def body_of(call: ApiCall) -> str:
    """A message as text: tags dropped, the kind of media named."""
    body = plain(call.text)
    if call.method not in ("sendMessage", "editMessageText"):
        body = f"[{call.method[4:] or call.method}] {body}".strip()
    return body


class Console:
    help = HELP
    as_usage = "(usage: /as <Telegram id, digits 0-9> [name])"

    def __init__(self, app: App, api: LocalSession, out: TextIO = sys.stdout,
                 files: Path | None = None) -> None:
        self.app, self.api, self.out = app, api, out
        self.user_id = 1001
        self.names: dict[str, str] = {}  # /as WHO NAME: the name the messenger would show
        self.screens = Screens()
        self.listing: list[tuple[Shown, dict[str, Any]]] | None = None  # after /as, /buttons
        self.saver = FileSaver(files or Path("console-files"), api)
        self.clock = ShiftedClock()
        app.clock = self.clock
        self.block: list[str] | None = None  # lines of a <<< … >>> message
        self.stop_header: str | None = None  # printed before the next message (/clock)
        self.narrating = False  # the tour's last line was narration
        self._ids = itertools.count(int(time.time()))
        api.listeners.append(self.show)

    @property
    def who(self) -> str:
        """Whom you are talking as, for the prompt."""
        return str(self.user_id)

    @property
    def whom(self) -> str:
        """Whom you are talking as, in a sentence."""
        return f"user {self.user_id}"

    # --- what the bot does ------------------------------------------------------------
    def show(self, call: ApiCall) -> None:
        if call.method not in SHOWN:
            return
        if call.method == "answerCallbackQuery":
            if call.params.get("text"):
                self.print(f"  [!] {call.params['text']}")
            return
        self.screens.record(call, self.user_id)
        self.print_stop_header()
        to = call.chat_id
        if call.method == "editMessageReplyMarkup":  # a toggle: the same message, new marks
            if to == self.user_id and (options := self.screens.on_screen(to)):
                self.listing = None
                self.print("bot: (buttons updated)")
                self.print_buttons(options)
            return
        edited = " (edited)" if call.method.startswith("edit") else ""
        self.print(f"bot{edited}{'' if to == self.user_id else f' → to {to}'}: "
                   f"{body_of(call)}")
        for path in self.saver.save(call):
            self.print(f"   (file saved: {shown_path(path)}, {path.stat().st_size:,} bytes)")
        if to == self.user_id:
            self.listing = None
            self.print_buttons(self.screens.on_screen(to))

    def print_stop_header(self) -> None:
        """The time /clock moved to, once, before the first message it brought."""
        if self.stop_header:
            self.print(self.stop_header)
            self.stop_header = None

    def print_buttons(self, options: list[tuple[Shown, dict[str, Any]]]) -> None:
        for n, (_shown, button) in enumerate(options, start=1):
            self.print(f"   [{n}] {button['text']}")

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # --- what the person types ----------------------------------------------------------
    async def handle_line(self, line: str) -> bool:
        """One line typed; False when the console should end."""
        line = line.rstrip("\r\n")
        if self.block is not None:
            if line.strip() != BLOCK_END:
                self.block.append(line)
                return True
            text, self.block = "\n".join(self.block), None
            await self.send_text(text)
            return True
        line = line.strip()
        if line in ("/quit", "/exit"):
            return False
        if line == BLOCK_START:
            self.block = []
        elif line:
            await self.dispatch(line)
        return True

    async def dispatch(self, line: str) -> None:
        command, _, arg = line.partition(" ")
        console_commands = {"/as": self.switch_user, "/buttons": self.list_pending,
                            "/say": self.send_text, "/send": self.send_file,
                            "/clock": self.move_clock, "/files": self.show_folder,
                            "/console": self.show_help}
        if command in console_commands:
            await console_commands[command](arg.strip())
        elif not await self.press_typed(line):
            await self.send_text(line)

    async def press_typed(self, line: str) -> bool:
        """Press the button `line` names (its number or label); False if it names none."""
        chosen = choose(line, self.listing if self.listing is not None
                        else self.screens.on_screen(self.user_id))
        if chosen is None:
            return False
        await self.press(*chosen)
        return True

    async def after_update(self) -> None:
        await self.app.delivery.drain()
        await run_all_ticks(self.app)
        await self.app.delivery.drain()

    async def send_text(self, text: str) -> None:
        if not text:
            self.print("(usage: /say TEXT)")
            return
        await self.say(text)

    async def say(self, text: str) -> None:
        """A message typed by the current person."""
        self.listing = None
        await self.feed({"message": self._message(**_entities(text))})
        await self.after_update()

    async def press(self, shown: Shown, button: dict[str, Any]) -> None:
        self.listing = None
        if button.get("url"):
            self.print(f"(link: {button['url']})")
            return
        if button.get("request_users"):  # Telegram's own list of people: none here
            self.print("(in Telegram this opens the list of people to choose from; here type "
                       "a part of their name, their @username or their Telegram id)")
            return
        if "callback_data" not in button:  # a reply keyboard: its label is sent as text
            await self.send_text(button["text"])
            return
        self.screens.pressed(shown)
        await self.feed({"callback_query": {
            "id": str(next(self._ids)), "from": self._from(), "chat_instance": "console",
            "data": button["callback_data"], "message": shown.message}})
        await self.after_update()

    # --- console commands ---------------------------------------------------------------
    async def switch_user(self, arg: str) -> None:
        who, _, name = arg.partition(" ")
        if not self.become(who):
            self.print(self.as_usage)
            return
        if name.strip():
            self.names[self.who] = name.strip()
        self.print(f"(now talking as {self.whom})")
        await self.list_pending("")

    def become(self, who: str) -> bool:
        """Talk as `who` from now on (a Telegram id); False if it names nobody."""
        user_id = as_int(who)
        if user_id is None:
            return False
        self.user_id = user_id
        return True

    async def list_pending(self, _arg: str) -> None:
        """Every message with buttons waiting for the current person, numbered together."""
        pending = self.screens.pending(self.user_id)
        self.listing = [(s, b) for s in pending for b in s.buttons]
        if not pending:
            return
        self.print(f"(buttons waiting for {self.user_id}:)")
        n = 0
        for shown in pending:
            self.print(f"  « {_first_line(shown.text)} »")
            for button in shown.buttons:
                n += 1
                self.print(f"   [{n}] {button['text']}")

    async def send_file(self, arg: str) -> None:
        raw, caption = split_send(arg)
        path = Path(raw).expanduser()
        if not raw or not path.is_file():
            self.print(f"(no such file: {raw})" if raw else "(usage: /send PATH [caption])")
            return
        await self.send_path(path, caption)

    async def send_path(self, path: Path, caption: str) -> None:
        """A file from disk, sent by the current person."""
        file_id = f"console-{next(self._ids)}-{path.name}"[:60]
        self.api.files[file_id] = path.read_bytes()  # what bot.download() then returns
        self.listing = None
        await self.feed({"message": self._message(**incoming(path, file_id, caption))})
        await self.after_update()

    async def move_clock(self, arg: str) -> None:
        tz = self.app.settings.tz
        if arg:
            target = parse_target(arg, self.clock(), tz)
            if target is None:
                self.print("(usage: /clock +2d | +3h | +30m | 2026-03-12 09:00 | now)")
                return
            for moment in await stops(self.app.sessionmaker, self.clock(), target):
                self.clock.set(moment)
                self.stop_header = f"── {_local(moment, tz)} ──"
                await self.after_update()
            self.clock.set(target)
            self.stop_header = None
        self.print(f"(the bot's clock: {_local(self.clock(), tz)}, Almaty time)")

    async def show_folder(self, _arg: str) -> None:
        self.print(f"(files the bot sends are saved in {shown_path(self.saver.folder)})")

    async def show_help(self, _arg: str) -> None:
        self.print(self.help)

    # --- updates ------------------------------------------------------------------------
    def _from(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False,
                "first_name": self.names.get(self.who, f"User {self.user_id}")}

    def _message(self, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._ids), "date": int(self.clock().timestamp()),
                "chat": {"id": self.user_id, "type": "private"}, "from": self._from(),
                **content}

    async def feed(self, payload: dict[str, Any]) -> None:
        update = Update.model_validate({"update_id": next(self._ids), **payload},
                                       context={"bot": self.app.bot})
        await self.app.dp.feed_update(self.app.bot, update)


def _entities(text: str) -> dict[str, Any]:
    entities = {"text": text}
    if text.startswith("/"):
        entities["entities"] = [{"type": "bot_command", "offset": 0,  # type: ignore[assignment]
                                 "length": len(text.split()[0])}]
    return entities


def _first_line(text: str, limit: int = 70) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "…"
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _local(moment: Any, tz: Any) -> str:
    return moment.astimezone(tz).strftime("%a %d.%m.%Y %H:%M")


def shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())
