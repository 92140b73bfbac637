"""The console speaking WhatsApp (`python -m bot console --channel whatsapp`): you are a
WhatsApp person, and you see what WhatsApp would show you.

The bot's side is the real WhatsApp transport (bot.channels.whatsapp): the same renderer
turns keyboards into reply buttons, a list or a numbered menu, and what you type arrives as
the webhook's message would, through the same inbound path (media store included). Only the
Cloud API is replaced, by `ConsoleCloudApi`, which prints what would have been sent.

    N or a title     taps a reply button or list row of the bot's latest message to you
                     (as a tap would; typing on WhatsApp sends text). A numbered menu is text:
                     its number is sent as typed, and the bot reads it, as on WhatsApp.
    /buttons         the buttons and rows of the last message that had them; N then taps one
    /as ADDRESS [NAME]   talk as another WhatsApp person (their BSUID or phone number)
    /send PATH [caption] a photo, video or document from disk
"""

from __future__ import annotations

import itertools
import mimetypes
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.app import App
from bot.channels.whatsapp.client import Choice, WaApiError
from bot.channels.whatsapp.inbound import Incoming
from bot.channels.whatsapp.transport import WhatsApp, build_whatsapp, handle_message
from bot.console.core import Console, shown_path
from bot.local_api import LocalSession

FIRST_ADDRESS = "KZ.console.1"
WA_KINDS = {"image": "image", "video": "video", "audio": "audio"}
HELP = """Console commands, WhatsApp mode (everything else goes to the bot as typed):
  N or a title   tap a reply button or list row of the bot's latest message
                 (a numbered menu's number is sent as text, as on WhatsApp)
  /buttons       the buttons of the last message that had them; N then taps one
  /as ADDRESS [NAME]   talk as another WhatsApp person
  /say TEXT      send TEXT as typed, even a number or a title
  <<<            start a multi-line message; a line with >>> alone sends it
  /send PATH [caption]   send a photo, video or document from disk
  /clock [+2d | +3h | 2026-03-12 09:00 | now]   show or move the bot's clock
  /files         where the files the bot sends are saved
  /quit"""


@dataclass
class WaShown:
    """One message as WhatsApp shows it: `kind` text | buttons | list | link | media."""

    to: str
    kind: str
    body: str
    choices: list[Choice] = field(default_factory=list)
    button: str = ""


class ConsoleCloudApi:
    """The Cloud API calls the transport makes (bot.channels.whatsapp.client.WaClient's),
    answered here: each message is shown by the console; media are kept in memory."""

    def __init__(self, console: WhatsAppConsole) -> None:
        self.console = console
        self.media: dict[str, tuple[bytes, str]] = {}
        self._ids = itertools.count(1)

    async def close(self) -> None:
        return None

    def add_media(self, data: bytes, mime: str) -> str:
        media_id = str(700000 + next(self._ids))
        self.media[media_id] = (data, mime)
        return media_id

    async def send_text(self, to: str, text: str) -> str:
        return self._show(WaShown(to, "text", text))

    async def send_buttons(self, to: str, body: str, choices: list[Choice]) -> str:
        return self._show(WaShown(to, "buttons", body, choices))

    async def send_list(self, to: str, body: str, button: str, choices: list[Choice]) -> str:
        return self._show(WaShown(to, "list", body, choices, button))

    async def send_link(self, to: str, body: str, title: str, url: str) -> str:
        return self._show(WaShown(to, "link", f"{body}\n   🔗 {title}: {url}"))

    async def send_media(self, to: str, kind: str, media: str | bytes, *,
                         caption: str | None = None, filename: str | None = None,
                         mime: str | None = None) -> str:
        if isinstance(media, str):
            if media not in self.media:
                raise WaApiError(131009, f"unknown media id {media}")
            data = self.media[media][0]
        else:
            data = media
        self.add_media(data, mime or "application/octet-stream")  # as if uploaded
        path = self.console.save_file(to, kind, data, filename)
        shown = f"[{kind}] {caption or ''}".strip()
        return self._show(WaShown(to, "media", f"{shown}\n   (file saved: {path})"))

    async def media_bytes(self, media_id: str) -> bytes:
        if media_id not in self.media:
            raise WaApiError(100, f"media {media_id} does not exist or has expired", 404)
        return self.media[media_id][0]

    def _show(self, shown: WaShown) -> str:
        self.console.show_wa(shown)
        return f"wamid.CONSOLE{next(self._ids)}"


class WhatsAppConsole(Console):
    help = HELP
    as_usage = "(usage: /as <WhatsApp address or phone number> [name])"

    def __init__(self, app: App, api: LocalSession, out: TextIO, files: Path | None = None,
                 ) -> None:
        super().__init__(app, api, out, files)
        self.user_id = 0  # Telegram people's messages are shown as "→ to" them
        self.address = FIRST_ADDRESS
        self.cloud = ConsoleCloudApi(self)
        self.whatsapp: WhatsApp = build_whatsapp(app, client=self.cloud)  # type: ignore[arg-type]
        self.latest: dict[str, WaShown] = {}  # the bot's latest message to each person
        self.tappable: dict[str, WaShown] = {}  # their latest with buttons or a list
        self.tapping: WaShown | None = None  # after /buttons: a number taps this one
        self._saved = itertools.count(1)

    @property
    def who(self) -> str:
        return self.address

    @property
    def whom(self) -> str:
        return f"WhatsApp {self.address}"

    # --- what the bot sends -------------------------------------------------------------
    def show_wa(self, shown: WaShown) -> None:
        self.print_stop_header()
        mine = shown.to == self.address
        self.print(f"bot{'' if mine else f' → to {shown.to}'}: {shown.body}")
        self.print_choices(shown)
        self.latest[shown.to] = shown
        if shown.choices:
            self.tappable[shown.to] = shown
        if mine:
            self.tapping = None

    def print_choices(self, shown: WaShown) -> None:
        if shown.kind == "list":
            self.print(f"   ☰ {shown.button}")
        for n, choice in enumerate(shown.choices, start=1):
            more = f" — {choice.description}" if choice.description else ""
            self.print(f"   [{n}] {choice.title}{more}")

    def save_file(self, to: str, kind: str, data: bytes, filename: str | None) -> str:
        folder = self.saver.folder
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(filename).name if filename else kind
        path = folder / f"wa{next(self._saved):03d}-{name}"
        path.write_bytes(data)
        return shown_path(path)

    # --- what the person types ----------------------------------------------------------
    async def press_typed(self, line: str) -> bool:
        """Tap the reply button or list row `line` names; False if it names none."""
        shown = self.tapping or self.latest.get(self.address)
        choice = _chosen(line, shown) if shown is not None else None
        if shown is None or choice is None:
            return False
        await self.tap(shown, choice)
        return True

    async def tap(self, shown: WaShown, choice: Choice) -> None:
        reply = "button_reply" if shown.kind == "buttons" else "list_reply"
        await self.arrive({"type": "interactive", "interactive": {
            "type": reply, reply: {"id": choice.data, "title": choice.title}}})

    async def say(self, text: str) -> None:
        await self.arrive({"type": "text", "text": {"body": text}})

    async def send_path(self, path: Path, caption: str) -> None:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        kind = WA_KINDS.get(mime.split("/")[0], "document")
        media: dict[str, Any] = {"id": self.cloud.add_media(path.read_bytes(), mime),
                                 "mime_type": mime}
        if caption:
            media["caption"] = caption
        if kind == "document":
            media["filename"] = path.name
        await self.arrive({"type": kind, kind: media})

    async def arrive(self, message: dict[str, Any]) -> None:
        """One message from the current person, as the webhook would bring it."""
        self.tapping = None
        wamid = f"wamid.CONSOLE-{uuid.uuid4().hex}"  # never one handled on an earlier run
        name = self.names.get(self.address, "WhatsApp")
        incoming = Incoming(wamid, self.address, None, name, {
            "id": wamid, "from_user_id": self.address, "timestamp": str(int(time.time())),
            **message})
        await handle_message(self.whatsapp, incoming)
        await self.after_update()

    # --- console commands ---------------------------------------------------------------
    def become(self, who: str) -> bool:
        if not who:
            return False
        self.address = who
        return True

    async def list_pending(self, _arg: str) -> None:
        shown = self.tappable.get(self.address)
        if shown is None:
            return
        self.print(f"(buttons waiting for {self.address}: « {shown.body.splitlines()[0]} »)")
        self.print_choices(shown)
        self.tapping = shown


def _chosen(line: str, shown: WaShown) -> Choice | None:
    """The reply button or list row `line` names (its number or its title)."""
    if shown.kind not in ("buttons", "list"):
        return None
    typed = line.strip()
    if typed.isdigit() and 1 <= int(typed) <= len(shown.choices):
        return shown.choices[int(typed) - 1]
    folded = _bare(typed)
    for choice in shown.choices:
        if folded and folded == _bare(choice.title):
            return choice
    return None


def _bare(title: str) -> str:
    """A title as one types it: no leading mark ("✅ "), no "…" of a cut title, any case."""
    title = title.strip().rstrip("…").strip()
    while title and not title[0].isalnum():
        title = title[1:].lstrip()
    return title.casefold()


def intro(console: WhatsAppConsole) -> str:
    return ("Local console, WhatsApp mode: you are a WhatsApp person "
            f"({console.address}) chatting with the bot as WhatsApp shows it: up to 3 reply "
            "buttons, a list of up to 10 rows, or a numbered menu. Type /start.\n"
            "A number or a title taps a button or row of the bot's latest message; a "
            "numbered menu's number goes as text; /as ADDRESS switches person; /send PATH "
            "sends a file; /clock +2d moves time; /console lists all this; /quit leaves.\n"
            f"Files the bot sends are saved in {shown_path(console.saver.folder)}")
