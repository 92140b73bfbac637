"""What each person of the console has on screen: the buttons of their latest message, and
the buttons that came to them while someone else was typing (kept until pressed)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from bot.local_api import BOT_ID, ApiCall
from bot.services.numbers import as_int

TAG = re.compile(r"<[^>]+>")
WAITING_LIMIT = 20  # per person: older ones are dropped
EDITS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"}


@dataclass
class Shown:
    """A message of the bot as its recipient sees it."""

    chat_id: int
    message_id: int
    message: dict[str, Any]  # as Telegram sent it: what a callback query carries back
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)


def _whole(call: ApiCall) -> dict[str, Any]:
    """The sent message as a callback query carries it; copyMessage answers with its id
    alone, so the rest is filled in (a copy keeps its text only as far as we know it)."""
    message = dict(call.message or {})
    if "chat" not in message:
        message.update(date=int(time.time()), chat={"id": call.chat_id, "type": "private"},
                       text=plain(call.text) or "…",
                       **{"from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"}})
    return message


def buttons_of(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [b for row in rows for b in row]


def plain(text: str | None) -> str:
    return TAG.sub("", text or "")


def squeeze(text: str) -> str:
    """A label or a typed answer compared without emoji, marks, spaces or case."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


class Screens:
    def __init__(self) -> None:
        self.latest: dict[int, Shown] = {}
        self.waiting: dict[int, list[Shown]] = {}

    def record(self, call: ApiCall, current_user: int) -> None:
        """A call of the bot: a new message, or an edit of one already shown."""
        if not isinstance(call.chat_id, int) or call.message is None:
            return
        if call.method in EDITS:
            self._edit(call)
            return
        shown = Shown(call.chat_id, call.message["message_id"], _whole(call),
                      plain(call.text), buttons_of(call))
        self.latest[call.chat_id] = shown
        # links only (🔗 Join) need no answer: they do not wait
        if any("url" not in b for b in shown.buttons) and call.chat_id != current_user:
            queue = self.waiting.setdefault(call.chat_id, [])
            queue.append(shown)
            del queue[:-WAITING_LIMIT]

    def _edit(self, call: ApiCall) -> None:
        # Telegram drops an inline keyboard that an edit does not repeat
        buttons = buttons_of(call)
        for shown in self._all(call.chat_id):
            if shown.message_id != call.params.get("message_id"):
                continue
            shown.buttons = buttons
            if call.method != "editMessageReplyMarkup" and call.text:
                shown.text = plain(call.text)
                shown.message = {**shown.message, **{k: v for k, v in call.message.items()
                                                     if k in ("text", "caption")}}
        self.waiting[call.chat_id] = [s for s in self.waiting.get(call.chat_id, [])
                                      if s.buttons]

    def _all(self, chat_id: int) -> list[Shown]:
        shown = list(self.waiting.get(chat_id, []))
        latest = self.latest.get(chat_id)
        if latest is not None and latest not in shown:
            shown.append(latest)
        return shown

    def on_screen(self, chat_id: int) -> list[tuple[Shown, dict[str, Any]]]:
        """The buttons of the person's latest message (none if it had none)."""
        latest = self.latest.get(chat_id)
        return [(latest, b) for b in latest.buttons] if latest is not None else []

    def pending(self, chat_id: int) -> list[Shown]:
        """Messages with buttons that came while the person was away, and their latest."""
        return [s for s in self._all(chat_id) if s.buttons]

    def pressed(self, shown: Shown) -> None:
        """A waiting message whose button was pressed waits no more."""
        queue = self.waiting.get(shown.chat_id, [])
        if shown in queue:
            queue.remove(shown)


def choose(typed: str, options: list[tuple[Shown, dict[str, Any]]],
           ) -> tuple[Shown, dict[str, Any]] | None:
    """The button a typed line presses: the one whose label it is (a score keyboard's "8"),
    else the one with that number, else the only one whose label it begins; None: the
    line is text for the bot."""
    wanted = squeeze(typed)
    labels = [squeeze(option[1].get("text", "")) for option in options]
    if wanted and wanted in labels:
        return options[labels.index(wanted)]
    number = as_int(typed)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1]
    # the start of one label only ("Аудандық" for "Аудандық (қалалық) деңгей")
    starting = [o for o, label in zip(options, labels, strict=True)
                if len(wanted) >= 2 and label.startswith(wanted)]
    return starting[0] if len(starting) == 1 else None
