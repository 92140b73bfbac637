"""Sending side of the delivery queue: claims queued rows and sends them through the Bot API.

(Foundation version: sequential, no pacing. The broadcast issue replaces the loop with the
rate-limited, crash-safe worker; the interface — `drain`, `run`, `stop` — stays.)
"""

from __future__ import annotations

import asyncio
import base64
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.services.delivery import OutgoingMessage
from db.base import utcnow
from db.models import Delivery, OutboxPayload, User

logger = logging.getLogger(__name__)


def markup_of(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.text, callback_data=b.callback_data, url=b.url) for b in row]
        for row in message.buttons
    ])


async def send_outgoing(bot: Bot, chat_id: int, message: OutgoingMessage) -> int | None:
    """Send one OutgoingMessage; returns the Telegram message id."""
    markup = markup_of(message)
    parse_mode = "HTML" if message.html else None
    if message.kind == "text":
        sent = await bot.send_message(chat_id, message.text or "", entities=message.entities,
                                      parse_mode=parse_mode, reply_markup=markup)
        return sent.message_id
    if message.document_bytes_b64 is not None:
        doc = BufferedInputFile(base64.b64decode(message.document_bytes_b64),
                                filename=message.filename or "file")
        sent = await bot.send_document(chat_id, doc, caption=message.text,
                                       parse_mode=parse_mode, reply_markup=markup)
        return sent.message_id
    sender = getattr(bot, f"send_{message.kind}")
    sent = await sender(chat_id, message.file_id, caption=message.text,
                        caption_entities=message.entities, parse_mode=parse_mode,
                        reply_markup=markup)
    return sent.message_id


class DeliveryWorker:
    def __init__(self, bot: Bot, sessionmaker: async_sessionmaker) -> None:
        self.bot, self.sessionmaker = bot, sessionmaker
        self._stop = asyncio.Event()

    async def drain(self) -> int:
        """Send everything due now; returns how many rows were processed."""
        done = 0
        while True:
            async with self.sessionmaker() as session:
                row = await session.scalar(
                    select(Delivery).where(Delivery.status == "queued",
                                           Delivery.next_attempt_at <= utcnow())
                    .order_by(Delivery.priority, Delivery.id).limit(1))
                if row is None:
                    return done
                body = (await session.get(OutboxPayload, row.payload_id)).body
                row_id, chat_id, user_id = row.id, row.chat_id, row.user_id
            status, message_id, error = await self._send(chat_id, OutgoingMessage.from_body(body))
            async with self.sessionmaker() as session, session.begin():
                await session.execute(update(Delivery).where(Delivery.id == row_id).values(
                    status=status, sent_message_id=message_id, error=error,
                    attempts=Delivery.attempts + 1, sent_at=utcnow()))
                if status == "blocked" and user_id:
                    await session.execute(update(User).where(User.id == user_id)
                                          .values(blocked_bot=True))
            done += 1

    async def _send(self, chat_id: int, message: OutgoingMessage) -> tuple[str, int | None, str | None]:
        try:
            return "sent", await send_outgoing(self.bot, chat_id, message), None
        except TelegramForbiddenError as exc:
            return "blocked", None, str(exc)
        except Exception as exc:  # one bad row must not stop the queue
            logger.warning("delivery to %s failed: %s", chat_id, exc)
            return "failed", None, str(exc)

    async def run(self, idle_sleep: float = 0.5) -> None:
        while not self._stop.is_set():
            if not await self.drain():
                try:
                    await asyncio.wait_for(self._stop.wait(), idle_sleep)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stop.set()
