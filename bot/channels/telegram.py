"""Telegram as a `Channel`: OutgoingMessage → Bot API calls, aiogram's errors → SendError."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAnimation,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    LinkPreviewOptions,
    MessageEntity,
)

from bot.channels.base import Blocked, Refused, RetryAfter, SendError, Transient
from bot.services.delivery import OutgoingMessage

MEDIA_TYPES = {"photo": InputMediaPhoto, "video": InputMediaVideo,
               "document": InputMediaDocument, "audio": InputMediaAudio,
               "animation": InputMediaAnimation}


class TelegramChannel:
    """Sends through one aiogram Bot (its session decides where: Telegram, a self-hosted
    Bot API server, or the in-process one of the tests and the console)."""

    name = "telegram"
    can_edit = True

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, address: int, message: OutgoingMessage,
                   document: bytes | None = None) -> int | None:
        try:
            return await send_outgoing(self.bot, address, message, document)
        except TRANSLATED as exc:
            raise channel_error(exc) from exc

    async def edit(self, address: int, message_id: int, message: OutgoingMessage) -> None:
        try:
            await self.bot.edit_message_text(
                message.text or "", chat_id=address, message_id=message_id,
                parse_mode="HTML" if message.html else None,
                entities=None if message.html else _entities(message.entities),
                link_preview_options=LinkPreviewOptions(is_disabled=not message.link_preview),
                reply_markup=markup_of(message))
        except TRANSLATED as exc:
            raise channel_error(exc) from exc


TRANSIENT = (TelegramServerError, TelegramNetworkError, TimeoutError)
TRANSLATED = (TelegramRetryAfter, TelegramForbiddenError, TelegramBadRequest, TelegramNotFound,
              *TRANSIENT)


def channel_error(exc: BaseException) -> SendError:
    """One of aiogram's exceptions (TRANSLATED) as the channel error it stands for."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryAfter(exc.retry_after)
    if isinstance(exc, TelegramForbiddenError):  # 403: blocked, deactivated, kicked
        return Blocked(exc.message)
    if isinstance(exc, (TelegramBadRequest, TelegramNotFound)):  # 400, 404
        return Refused(exc.message)
    return Transient(f"{type(exc).__name__}: {exc}")


# --- OutgoingMessage → Bot API ----------------------------------------------------------------
def markup_of(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.text, callback_data=b.callback_data, url=b.url) for b in row]
        for row in message.buttons
    ])


def _entities(raw: list[dict[str, Any]] | None) -> list[MessageEntity] | None:
    return [MessageEntity.model_validate(e) for e in raw] if raw else None


async def send_outgoing(bot: Bot, chat_id: int, message: OutgoingMessage,
                        document: bytes | None = None) -> int | None:
    """Send one OutgoingMessage; returns the Telegram message id (of an album's first).

    `document`: the bytes of a made document (`message.document`), made by the caller.
    Raises aiogram's own exceptions (TelegramChannel.send translates them).
    """
    markup = markup_of(message)
    parse_mode = "HTML" if message.html else None
    entities = None if message.html else _entities(message.entities)
    if message.kind == "text":
        preview = LinkPreviewOptions(is_disabled=not message.link_preview)
        sent = await bot.send_message(chat_id, message.text or "", entities=entities,
                                      parse_mode=parse_mode, reply_markup=markup,
                                      link_preview_options=preview)
        return sent.message_id
    if message.kind == "album":
        return await _send_album(bot, chat_id, message)
    if document is not None or message.document_bytes_b64 is not None:
        data = document if document is not None else base64.b64decode(
            message.document_bytes_b64 or "")
        doc = BufferedInputFile(data, filename=message.filename or "file")
        sent = await bot.send_document(chat_id, doc, caption=message.text,
                                       parse_mode=parse_mode, reply_markup=markup)
        return sent.message_id
    sender: Callable[..., Awaitable[Any]] = getattr(bot, f"send_{message.kind}")
    kwargs: dict[str, Any] = {"reply_markup": markup}
    if message.kind not in ("sticker", "video_note"):
        kwargs.update(caption=message.text, caption_entities=entities, parse_mode=parse_mode)
    sent = await sender(chat_id, message.file_id, **kwargs)
    return sent.message_id


async def _send_album(bot: Bot, chat_id: int, message: OutgoingMessage) -> int | None:
    media = []
    for item in message.media or []:
        cls = MEDIA_TYPES[item.get("kind", "photo")]
        media.append(cls(media=item["file_id"], caption=item.get("caption"),
                         caption_entities=_entities(item.get("entities")), parse_mode=None))
    sent_group = await bot.send_media_group(chat_id, media)
    return sent_group[0].message_id if sent_group else None
