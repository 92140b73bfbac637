"""An aiogram transport that speaks WhatsApp: the bot's Bot API calls, as the Cloud API can
carry them (review C.3, option A; bot/local_api.py is the same idea for the console).

- sendMessage, editMessageText → a message (a sent one cannot be edited: the new text comes
  anew), its keyboard rendered by render.py; an edit made outside a person's update (a
  broadcast's live progress, edited by a timer) is dropped: its end is sent anew anyway;
- sendPhoto/Video/Document/Animation/Audio/Voice/Sticker → the media (a file, a stored one
  or a Telegram file id is uploaded first; else a WhatsApp media id), a keyboard in a
  message after it;
- sendMediaGroup → one message per item;
- answerCallbackQuery → its text, if any, as a message (on Telegram the person sees it as
  a notice); else nothing;
- editMessageReplyMarkup, editMessageCaption, deleteMessage, sendChatAction, setMyCommands,
  … → nothing, answered as done: an old button pressed later is answered "no longer
  active" by the handlers anyway;
- getMe → the bot; getFile + download → the file in the media store, else the WhatsApp
  media behind the id.

A call for a positive chat id is a Telegram person's (a staff notice made while a WhatsApp
person talks): it goes to the Telegram bot. `TelegramToWhatsApp` is the reverse, on the
Telegram bot's session. Cloud API errors become aiogram's exceptions, so the code that
already handles Telegram's (the handlers, bot.channels.telegram) handles these.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetFile,
    GetMe,
    SendMediaGroup,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup, InputFile
from pydantic import TypeAdapter

from bot.channels.whatsapp.client import WaApiError, WaClient
from bot.channels.whatsapp.contacts import ContactBook
from bot.channels.whatsapp.render import TEXT_LIMIT, Option, Plan, from_html, plan
from bot.db_context import current_session
from bot.i18n import PoI18n
from bot.limits import is_html
from bot.local_api import ATTACHMENT_FIELDS
from bot.services.media_store import MediaStore, is_stored

logger = logging.getLogger(__name__)



def whatsapp_token(bot_id: int) -> str:
    """The WhatsApp Bot's "token": the Telegram bot's id (aiogram reads the bot id from it),
    so FSM keys (bot:chat:user) do not depend on which bot handled a person's update."""
    return f"{bot_id}:whatsapp-transport-not-a-telegram-token"

MEDIA_METHODS = {"sendPhoto": "photo", "sendVideo": "video", "sendDocument": "document",
                 "sendAnimation": "animation", "sendAudio": "audio", "sendVoice": "voice",
                 "sendSticker": "sticker", "sendVideoNote": "video_note"}
NO_EQUIVALENT = {"editMessageReplyMarkup", "editMessageCaption", "editMessageMedia",
                 "deleteMessage", "deleteMessages", "sendChatAction", "setMyCommands",
                 "deleteMyCommands", "setChatMenuButton", "setWebhook", "deleteWebhook",
                 "pinChatMessage", "unpinChatMessage", "setMessageReaction"}
BLOCKED_CODES = {131026}  # undeliverable: not on WhatsApp, or blocked the business
PAIR_RATE_CODE, THROUGHPUT_CODE = 131056, 130429
PAIR_RATE_WAIT = 6  # seconds: about one message per 6 s to the same person
CALLBACK_PREFIX = "wa:"


def callback_id(ext_id: int, wamid: str) -> str:
    """The id of a press's callback query: says whom to answer (answerCallbackQuery)."""
    return f"{CALLBACK_PREFIX}{ext_id}:{wamid}"


class WhatsAppSession(BaseSession):
    def __init__(self, client: WaClient, contacts: ContactBook, i18n: PoI18n,
                 telegram: Bot | None = None, media: MediaStore | None = None) -> None:
        super().__init__()
        self.client, self.contacts, self.i18n, self.telegram = client, contacts, i18n, telegram
        self.display_number: str | None = None  # the business number, from the webhooks
        self.media = media
        self._ids = itertools.count(1)
        self.unsupported: list[str] = []  # methods refused, for tests and the log

    async def close(self) -> None:
        await self.client.close()

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:
        chat_id = getattr(method, "chat_id", None)
        if isinstance(chat_id, int) and chat_id >= 0 and self.telegram is not None:
            return await self.telegram(method)  # a Telegram person's
        try:
            result = await self._call(bot, method)
        except WaApiError as exc:
            raise _as_telegram_error(method, exc) from exc
        return _validated(method, result, bot)

    async def start_link(self, payload: str) -> str:
        """A link that opens this bot's chat with `/start payload` typed (a guardian's or an
        invitation link forwarded on WhatsApp); t.me/<bot> would name no bot here."""
        if self.display_number:
            return f"https://wa.me/{self.display_number}?text=%2Fstart%20{payload}"
        if self.telegram is not None:
            return f"https://t.me/{(await self.telegram.me()).username}?start={payload}"
        return f"/start {payload}"

    async def _call(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        name = method.__api_method__
        if isinstance(method, GetMe):
            return {"id": bot.id, "is_bot": True, "first_name": "Mektep Parliament",
                    "username": "whatsapp"}
        if isinstance(method, EditMessageText) and current_session.get(None) is None:
            return True  # a live progress message: its end comes as a message of its own
        if isinstance(method, (SendMessage, EditMessageText)):
            return await self._send_text(bot, method)
        if name in MEDIA_METHODS:
            return await self._send_media(bot, method, MEDIA_METHODS[name])
        if isinstance(method, SendMediaGroup):
            return [await self._send_media(bot, item, item.type, chat_id=method.chat_id)
                    for item in method.media]
        if isinstance(method, AnswerCallbackQuery):
            return await self._answer(method)
        if isinstance(method, GetFile):
            return {"file_id": method.file_id, "file_unique_id": method.file_id[-16:],
                    "file_path": method.file_id}
        if name in NO_EQUIVALENT:
            return True
        self.unsupported.append(name)
        logger.warning("WhatsApp has no equivalent of %s: not sent", name)
        raise TelegramBadRequest(method=method, message=f"{name} is not possible on WhatsApp")

    # --- texts and keyboards --------------------------------------------------------------
    async def _send_text(self, bot: Bot, method: SendMessage | EditMessageText) -> Any:
        chat_id = int(method.chat_id or 0)
        to = await self._address(method, chat_id)
        text = _text(bot, method.text, method.parse_mode, method.entities)
        await self._deliver(to, chat_id, self._plan(text, method.reply_markup))
        return self._message(bot, chat_id, text=method.text)

    def _plan(self, text: str, markup: Any) -> Plan:
        options = _options(markup)
        if not options:
            return Plan("text", text)
        return plan(text, options,
                    numbered_hint=self.i18n.gettext("Reply with the number of your choice."),
                    list_button=self.i18n.gettext("Choose"))

    async def _deliver(self, to: str, chat_id: int, shown: Plan) -> None:
        client = self.client
        if shown.lead:
            await client.send_text(to, shown.lead)
        if shown.kind == "buttons":
            await client.send_buttons(to, shown.body, shown.choices)
        elif shown.kind == "list":
            await client.send_list(to, shown.body, shown.link.text if shown.link else "…",
                                   shown.choices)
        elif shown.kind == "link" and shown.link is not None:
            await client.send_link(to, shown.body, shown.link.text, shown.link.url or "")
        else:
            for part in _parts(shown.body):
                await client.send_text(to, part)
        await self.contacts.set_menu(chat_id, shown.menu)

    # --- media ----------------------------------------------------------------------------
    async def _send_media(self, bot: Bot, method: Any, kind: str,
                          chat_id: Any = None) -> dict[str, Any]:
        chat_id = int(chat_id if chat_id is not None else method.chat_id)
        to = await self._address(method, chat_id)
        given = getattr(method, "media", None) or getattr(method, kind, None)
        source, filename, mime = await self.source_of(bot, given)
        caption = getattr(method, "caption", None)
        if caption:
            caption = _text(bot, caption, getattr(method, "parse_mode", None),
                            getattr(method, "caption_entities", None))
        markup = getattr(method, "reply_markup", None)
        media_id = await self.client.send_media(
            to, kind, source, caption=None if markup else caption, filename=filename,
            mime=mime)
        if markup is not None:  # WhatsApp media carry no list; the buttons follow
            await self._deliver(to, chat_id, self._plan(caption or "⬆️", markup))
        else:
            await self.contacts.set_menu(chat_id, None)
        message = self._message(bot, chat_id, caption=getattr(method, "caption", None))
        message[kind] = _attachment(kind, given if isinstance(given, str) else media_id)
        return message

    async def source_of(self, bot: Bot, given: Any) -> tuple[str | bytes, str | None, str | None]:
        """(a WhatsApp media id or the bytes to upload, file name, mime type) for a file the
        bot sends: a file from disk or memory, one in the media store, a Telegram file id
        (a Telegram person's entry shown to a WhatsApp reviewer), or a WhatsApp media id."""
        if isinstance(given, InputFile):
            return b"".join([chunk async for chunk in given.read(bot)]), given.filename, None
        if is_stored(given):
            stored = await self.media.get(given) if self.media is not None else None
            if stored is None:
                raise WaApiError(100, "the stored file is gone (erased)", 404)
            return stored.data, stored.filename, stored.mime
        if isinstance(given, str) and not given.isdigit() and self.telegram is not None:
            downloaded = await self.telegram.download(given)
            if downloaded is not None:
                return downloaded.read(), None, None
        return str(given), None, None

    # --- the rest -------------------------------------------------------------------------
    async def _answer(self, method: AnswerCallbackQuery) -> bool:
        """A notice or pop-up the person would see on Telegram arrives as a short message;
        it leaves the numbered menu in force (it answers a choice, it asks nothing)."""
        if not method.text or not method.callback_query_id.startswith(CALLBACK_PREFIX):
            return True
        ext_id = int(method.callback_query_id[len(CALLBACK_PREFIX):].split(":", 1)[0])
        to = await self._address(method, ext_id)
        await self.client.send_text(to, method.text)
        return True

    async def _address(self, method: TelegramMethod[Any], ext_id: int) -> str:
        address = await self.contacts.address_of(ext_id)
        if address is None:  # erased, or never a WhatsApp contact: as Telegram's "no chat"
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found")
        return address

    def _message(self, bot: Bot, chat_id: int, **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._ids), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": bot.id, "is_bot": True, "first_name": "Mektep Parliament"}}
        message.update({k: v for k, v in content.items() if v})
        return message

    async def stream_content(self, url: str = "", *args: Any,
                             **kwargs: Any) -> AsyncGenerator[bytes, None]:
        """bot.download(file_id): the path we gave in getFile is the WhatsApp media id."""
        media_id = str(url).rsplit("/", 1)[-1]
        stored = await self.media.get(media_id) if self.media is not None else None
        if stored is not None:
            yield stored.data
            return
        try:
            yield await self.client.media_bytes(media_id)
        except WaApiError as exc:
            raise TelegramNetworkError(method=GetFile(file_id=media_id),
                                       message=f"WhatsApp media {media_id}: {exc}") from exc


class TelegramToWhatsApp(BaseRequestMiddleware):
    """On the Telegram bot's session: a call for a negative chat id is a WhatsApp person's
    (e.g. `app.bot.send_message(user.chat_id, ...)` in a notice): the WhatsApp bot sends it."""

    def __init__(self, whatsapp: Bot) -> None:
        self.whatsapp = whatsapp

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        chat_id = getattr(method, "chat_id", None)
        callback = getattr(method, "callback_query_id", None)
        if (isinstance(chat_id, int) and chat_id < 0) or (
                isinstance(callback, str) and callback.startswith(CALLBACK_PREFIX)):
            return await self.whatsapp(method)
        return await make_request(bot, method)


def _options(markup: Any) -> list[Option]:
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [Option(b.text, data=b.callback_data, url=b.url)
            for row in markup.inline_keyboard for b in row if b.callback_data or b.url]


def _text(bot: Bot, text: str, parse_mode: Any, entities: Any) -> str:
    return from_html(text) if is_html(bot, parse_mode, entities) else text


def _parts(text: str) -> list[str]:
    """WhatsApp texts hold 4,096 characters: longer ones go in parts, cut at a line."""
    parts: list[str] = []
    while len(text) > TEXT_LIMIT:
        cut_at = text.rfind("\n", 0, TEXT_LIMIT)
        cut_at = cut_at if cut_at > 0 else TEXT_LIMIT
        parts.append(text[:cut_at])
        text = text[cut_at:].lstrip("\n")
    return [*parts, text] if text else parts


def _attachment(kind: str, file_id: str) -> Any:
    sent = {"file_id": file_id, "file_unique_id": file_id[-16:], **ATTACHMENT_FIELDS.get(kind, {})}
    return [sent] if kind == "photo" else sent


def _as_telegram_error(method: TelegramMethod[Any], exc: WaApiError) -> Exception:
    """Cloud API errors as the aiogram exceptions the bot already handles."""
    text = f"WhatsApp {exc}"
    if exc.code in BLOCKED_CODES:
        return TelegramForbiddenError(method=method, message=text)
    if exc.code == PAIR_RATE_CODE:
        return TelegramRetryAfter(method=method, message=text, retry_after=PAIR_RATE_WAIT)
    if exc.code == THROUGHPUT_CODE:
        return TelegramRetryAfter(method=method, message=text, retry_after=1)
    if exc.status == 0:
        return TelegramNetworkError(method=method, message=text)
    if exc.transient:
        return TelegramServerError(method=method, message=text)
    return TelegramBadRequest(method=method, message=text)


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _validated(method: TelegramMethod[Any], result: Any, bot: Bot) -> Any:
    returning = getattr(method, "__returning__", None)
    if returning is None:
        return result
    if type(method) not in _ADAPTERS:
        _ADAPTERS[type(method)] = TypeAdapter(returning)
    return _ADAPTERS[type(method)].validate_python(result, context={"bot": bot})
