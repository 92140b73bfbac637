"""An in-process Telegram Bot API: answers every call locally and records it.

Used by `python -m bot console` (try the bot with no token) and by the tests. Calls can be
made to fail (429, 403, 400, 500, time-outs) through `fail_with`.

It is strict, like Telegram: a text over 4,096 characters or a caption over 1,024 (counted
on the parsed text), an empty text, HTML Telegram cannot parse, a button's alert over 200
characters, callback data over 64 bytes or a keyboard of over 100 buttons is refused with
Telegram's 400 answer and not recorded as sent (`refused` keeps them). So every test is
also a check of these limits.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    EditMessageText,
    GetFile,
    GetMe,
    GetUpdates,
    SendMediaGroup,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup, InputFile
from pydantic import TypeAdapter

from bot.limits import is_html
from bot.services.text import ALERT_LIMIT, CAPTION_LIMIT, TEXT_LIMIT, HtmlError, parse, units

BOT_ID = 7000000001
BOT_USERNAME = "mektep_parliament_bot"

MEDIA_FIELDS = {"photo": "photo", "video": "video", "document": "document",
                "animation": "animation", "audio": "audio", "voice": "voice",
                "sticker": "sticker", "video_note": "video_note"}


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    files: dict[str, bytes] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict)  # the uploaded files' names
    html: bool = False  # whether Telegram reads its text or caption as HTML
    message: dict[str, Any] | None = None  # the message Telegram answered with, if one

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        return self.params.get("text") or self.params.get("caption")


# A fault injector: given the call, raise an aiogram exception or return None to go on.
FaultHook = Callable[[ApiCall], None]


class LocalSession(BaseSession):
    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.strict = strict
        self.refused: list[tuple[ApiCall, str]] = []  # what Telegram would have refused
        self.calls: list[ApiCall] = []
        self.fault: FaultHook | None = None
        self.listeners: list[Callable[[ApiCall], None]] = []
        self._ids = itertools.count(1000)
        # Contents of "uploaded" files by file_id (tests register what bot.download returns).
        self.files: dict[str, bytes] = {}

    async def close(self) -> None:
        return None

    async def stream_content(self, url: str = "", *args: Any,
                             **kwargs: Any) -> AsyncGenerator[bytes, None]:
        file_id = str(url).rsplit("/files/", 1)[-1]
        yield self.files.get(file_id, b"local file content")

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType],
                           timeout: int | None = None) -> TelegramType:
        call = _record(method)
        call.html = is_html(bot, getattr(method, "parse_mode", None),
                            getattr(method, "entities", None)
                            or getattr(method, "caption_entities", None))
        problem = refusal(bot, method) if self.strict else None
        if problem is not None:
            self.refused.append((call, problem))
            raise TelegramBadRequest(method=method, message=f"Bad Request: {problem}")
        if self.fault is not None:
            self.fault(call)  # may raise: the call then counts as not delivered
        self.calls.append(call)
        result = self._result_for(bot, method, call)
        if isinstance(result, dict) and "message_id" in result:
            call.message = result  # the console presses its buttons with it
        for listener in self.listeners:
            listener(call)
        return method.__returning__ and _validate(method, result, bot)

    def _result_for(self, bot: Bot, method: TelegramMethod[Any], call: ApiCall) -> Any:
        if isinstance(method, GetMe):
            return {"id": BOT_ID, "is_bot": True, "first_name": "Mektep Parliament",
                    "username": BOT_USERNAME}
        if isinstance(method, GetUpdates):
            return []
        if isinstance(method, GetFile):
            return {"file_id": method.file_id, "file_unique_id": method.file_id[:16],
                    "file_path": f"files/{method.file_id}"}
        if isinstance(method, CopyMessage):
            return {"message_id": next(self._ids)}
        if isinstance(method, SendMediaGroup):
            return [self._message(call, media=m) for m in call.params.get("media", [])]
        returning = getattr(method, "__returning__", None)
        if returning is not None and getattr(returning, "__name__", "") == "Message":
            return self._message(call)
        if returning is bool or "Union" in str(returning) or "bool" in str(returning):
            return True if "edit" not in call.method.lower() else self._message(call)
        return True

    def _message(self, call: ApiCall, media: dict[str, Any] | None = None) -> dict[str, Any]:
        params = media or call.params
        msg: dict[str, Any] = {
            "message_id": call.params.get("message_id") or next(self._ids),
            "date": int(time.time()),
            "chat": {"id": call.params.get("chat_id") or 0, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Mektep Parliament"},
        }
        for key in ("text", "caption"):
            if params.get(key):
                msg[key] = params[key]
        kind = media.get("type") if media else next(
            (k for k in MEDIA_FIELDS if k in call.params), None)
        if kind:
            file_id = (media or call.params).get("media" if media else kind)
            file_id = file_id if isinstance(file_id, str) else f"local-{next(self._ids)}"
            msg[kind] = _attachment(kind, file_id)
        return msg

    # --- helpers for tests and the console -------------------------------------------
    def of(self, method: str, chat_id: int | None = None) -> list[ApiCall]:
        return [c for c in self.calls
                if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.calls
                if c.text and (chat_id is None or c.chat_id == chat_id)
                and c.method != "answerCallbackQuery"]

    def last(self, chat_id: int | None = None) -> ApiCall:
        sent = [c for c in self.calls if c.method not in ("answerCallbackQuery", "getMe")
                and (chat_id is None or c.chat_id == chat_id)]
        if not sent:
            raise AssertionError(f"the bot sent nothing to {chat_id}")
        return sent[-1]

    def clear(self) -> None:
        self.calls.clear()


# What a sent message carries besides the file id, by kind (only what aiogram requires).
ATTACHMENT_FIELDS: dict[str, dict[str, Any]] = {
    "photo": {"width": 1, "height": 1},
    "video": {"width": 1, "height": 1, "duration": 1, "length": 1},
    "animation": {"width": 1, "height": 1, "duration": 1, "length": 1},
    "video_note": {"width": 1, "height": 1, "duration": 1, "length": 1},
    "audio": {"duration": 1},
    "voice": {"duration": 1},
    "sticker": {"type": "regular", "width": 1, "height": 1, "is_animated": False,
                "is_video": False},
}


def _attachment(kind: str, file_id: str) -> Any:
    """The file of a sent message as Telegram describes it (a photo: a list of sizes)."""
    sent = {"file_id": file_id, "file_unique_id": file_id[-16:], **ATTACHMENT_FIELDS.get(kind, {})}
    return [sent] if kind == "photo" else sent


# --- what Telegram refuses -------------------------------------------------------------------
def refusal(bot: Bot, method: TelegramMethod[Any]) -> str | None:
    """Telegram's answer to a call it refuses for its text, captions or buttons; else None."""
    if isinstance(method, (SendMessage, EditMessageText)):
        problem = _text_refusal(bot, method.text, method.parse_mode, method.entities,
                                TEXT_LIMIT, "message is too long")
        if problem:
            return problem
    caption = getattr(method, "caption", None)
    if caption:
        problem = _text_refusal(bot, caption, getattr(method, "parse_mode", None),
                                getattr(method, "caption_entities", None), CAPTION_LIMIT,
                                "message caption is too long")
        if problem:
            return problem
    if isinstance(method, SendMediaGroup):
        for item in method.media:
            if item.caption:
                problem = _text_refusal(bot, item.caption, item.parse_mode,
                                        item.caption_entities, CAPTION_LIMIT,
                                        "message caption is too long")
                if problem:
                    return problem
    if isinstance(method, AnswerCallbackQuery) and method.text \
            and units(method.text) > ALERT_LIMIT:
        return "MESSAGE_TOO_LONG"
    return _markup_refusal(getattr(method, "reply_markup", None))


def _text_refusal(bot: Bot, text: str, parse_mode: Any, entities: Any, limit: int,
                  too_long: str) -> str | None:
    if is_html(bot, parse_mode, entities):
        try:
            text = parse(text)
        except HtmlError as exc:
            return f"can't parse entities: {exc}"
    if not text.strip() and limit == TEXT_LIMIT:  # a blank caption is no caption
        return "message text is empty"
    return too_long if units(text) > limit else None


def _markup_refusal(markup: Any) -> str | None:
    if not isinstance(markup, InlineKeyboardMarkup):
        return None
    if sum(len(row) for row in markup.inline_keyboard) > 100:
        return "REPLY_MARKUP_TOO_LONG"
    for row in markup.inline_keyboard:
        for button in row:
            data = button.callback_data
            if data is not None and not 1 <= len(data.encode()) <= 64:
                return "BUTTON_DATA_INVALID"
            if not button.text:
                return "text buttons are unallowed in the inline keyboard"
    return None


def _record(method: TelegramMethod[Any]) -> ApiCall:
    files: dict[str, bytes] = {}
    file_names: dict[str, str] = {}
    params: dict[str, Any] = {}
    for name, value in method.model_dump(exclude_none=True, mode="python").items():
        raw = getattr(method, name, None)
        if isinstance(raw, Default):
            continue
        if isinstance(raw, InputFile):
            files[name] = _file_bytes(raw)
            if raw.filename:
                file_names[name] = raw.filename
            params[name] = f"attach://{name}"
        else:
            params[name] = value
    return ApiCall(method=method.__api_method__, params=params, files=files,
                   file_names=file_names)


def _file_bytes(file: InputFile) -> bytes:
    data = getattr(file, "data", None)
    if isinstance(data, bytes):
        return data
    path = getattr(file, "path", None)
    return path.read_bytes() if path else b""


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _validate(method: TelegramMethod[Any], result: Any, bot: Bot) -> Any:
    adapter = _ADAPTERS.get(type(method))
    if adapter is None:  # building an adapter costs ~5 ms; once per method type
        adapter = _ADAPTERS[type(method)] = TypeAdapter(method.__returning__)
    return adapter.validate_python(result, context={"bot": bot})
