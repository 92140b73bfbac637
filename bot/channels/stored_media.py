"""On the Telegram bot's session: a file kept in the media store (`store:<sha256>`, a file a
WhatsApp person sent) is uploaded, as Telegram knows no such file id. So a Telegram reviewer
sees a WhatsApp entry's photo, and a broadcast made from WhatsApp media reaches Telegram.
Uploaded each time, never remembered as Telegram's file id: a file /deleteme erased must
not be sent again from a cache.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMediaGroup, TelegramMethod
from aiogram.types import BufferedInputFile

from bot.services.media_store import MediaStore, is_stored

FILE_FIELDS = ("photo", "video", "document", "animation", "audio", "voice", "sticker",
               "video_note")


class UploadStored(BaseRequestMiddleware):
    def __init__(self, store: MediaStore) -> None:
        self.store = store

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        chat_id = getattr(method, "chat_id", None)
        if isinstance(chat_id, int) and chat_id < 0:  # a WhatsApp person's: theirs to send
            return await make_request(bot, method)
        if isinstance(method, SendMediaGroup):
            items = [await self._item(method, item) for item in method.media]
            return await make_request(bot, method.model_copy(update={"media": items}))
        name = next((f for f in FILE_FIELDS if is_stored(getattr(method, f, None))), None)
        if name is None:
            return await make_request(bot, method)
        upload = await self._upload(method, getattr(method, name))
        return await make_request(bot, method.model_copy(update={name: upload}))

    async def _item(self, method: TelegramMethod[Any], item: Any) -> Any:
        if not is_stored(item.media):
            return item
        return item.model_copy(update={"media": await self._upload(method, item.media)})

    async def _upload(self, method: TelegramMethod[Any], stored_id: str) -> Any:
        stored = await self.store.get(stored_id)
        if stored is None:  # erased meanwhile: as Telegram answers for a file it lost
            raise TelegramBadRequest(method=method, message="Bad Request: file not found")
        name = stored.filename or stored_id[-12:] + (
            mimetypes.guess_extension(stored.mime) or "")
        return BufferedInputFile(stored.data, filename=name)
