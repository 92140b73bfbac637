"""WhatsApp as a delivery-queue `Channel` (bot.channels.base): queued OutgoingMessages go
out through the WhatsApp Bot (its WhatsAppSession), as Telegram's go through theirs.

The Cloud API's errors, as the queue must treat them:
- 131026 (undeliverable: not on WhatsApp, or blocked the business) → `Blocked`;
- 131056 (pair rate: too many to this person) → `RetryAfter` for this person only;
- 130429 (throughput) → `RetryAfter` for all; 5xx and the network → `Transient`;
- 131047 (outside the 24-hour window) → `Refused` for now: sending an approved template
  instead is the next step of issue 16;
- anything else refused → `Refused`.
"""

from __future__ import annotations

from aiogram import Bot

from bot.channels.base import Refused, RetryAfter, SendError
from bot.channels.telegram import TRANSLATED, channel_error, send_outgoing
from bot.channels.whatsapp.client import WaApiError
from bot.channels.whatsapp.session import PAIR_RATE_CODE, PAIR_RATE_WAIT
from bot.services.delivery import OutgoingMessage
from db.models.whatsapp import WHATSAPP

OUTSIDE_WINDOW_CODE = 131047


class WhatsAppChannel:
    name = WHATSAPP
    can_edit = False  # a sent WhatsApp message cannot be changed: progress comes anew

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, address: int, message: OutgoingMessage,
                   document: bytes | None = None) -> int | None:
        try:
            return await send_outgoing(self.bot, address, message, document)
        except TRANSLATED as exc:
            raise whatsapp_error(exc) from exc

    async def edit(self, address: int, message_id: int, message: OutgoingMessage) -> None:
        raise Refused("a WhatsApp message cannot be edited")


def whatsapp_error(exc: BaseException) -> SendError:
    cause = exc.__cause__
    if isinstance(cause, WaApiError):
        if cause.code == PAIR_RATE_CODE:
            return RetryAfter(PAIR_RATE_WAIT, per_recipient=True)
        if cause.code == OUTSIDE_WINDOW_CODE:
            return Refused("outside WhatsApp's 24-hour window (a template is needed)")
    return channel_error(exc)
