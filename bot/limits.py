"""Every message the bot sends fits Telegram's limits, whatever built it.

`FitToLimits` is a request middleware on the bot's session, so replies, the delivery worker
and scheduled ticks all pass through it. Lengths are counted as Telegram counts them, on
the text people see after HTML parsing (bot.services.text):

- a text over 4,096 characters goes out as several messages, cut after whole lines, a tag
  open at a cut closed and opened again, the buttons under the last one;
- a media caption over 1,024 characters (a Premium user may write 4,096): the media goes
  without it, then the caption as a text message that carries the buttons; an album item's
  long caption follows the album the same way;
- an edited text or caption is cut to its limit, ending in "…";
- a button's alert text is cut to 200 characters.

Handlers that list people or places cut their lists where a reader is better served by
"…and 12 more"; this is the net under everything else. It repairs lengths, never HTML:
text Telegram cannot parse is a bug, which the strict in-process Bot API of the tests
(bot.local_api) refuses just as Telegram does.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageText,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVideo,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import MessageEntity

from bot.services.text import (
    ALERT_LIMIT,
    CAPTION_LIMIT,
    MORE,
    TEXT_LIMIT,
    HtmlError,
    cut_plain,
    fit,
    plain_pieces,
    seen_length,
    split,
    units,
)

logger = logging.getLogger(__name__)

CAPTIONED = (SendPhoto, SendVideo, SendDocument, SendAnimation, SendAudio, SendVoice)
# what a caption moved to its own message keeps of the media message
_CARRIED = ("chat_id", "business_connection_id", "message_thread_id", "disable_notification",
            "protect_content")

Entities = list[MessageEntity] | None


def is_html(bot: Bot, parse_mode: Any, entities: Entities) -> bool:
    """Whether Telegram reads the text as HTML (entities, when given, win)."""
    if entities:
        return False
    if isinstance(parse_mode, Default):
        parse_mode = bot.default[parse_mode.name]
    return str(parse_mode or "").lower() == "html"


def too_long(text: str | None, html: bool, limit: int) -> bool:
    if not text or units(text) <= limit:  # tags and entities only ever shrink a text
        return False
    try:
        return seen_length(text, html) > limit
    except HtmlError:
        return False  # nothing to cut: Telegram refuses it anyway, and says why


def pieces(text: str, html: bool, entities: Entities,
           limit: int) -> list[tuple[str, Entities]]:
    """The text in parts that fit, with each part's own entities."""
    if html:
        return [(part, None) for part in split(text, limit)]
    return [(text[a:b], clip(entities, text, a, b)) for a, b in plain_pieces(text, limit)]


def clip(entities: Entities, text: str, start: int, end: int) -> Entities:
    """The entities of text[start:end], offsets (UTF-16, as Telegram's) made relative."""
    if not entities:
        return None
    low, high = units(text[:start]), units(text[:end])
    out = []
    for e in entities:
        a, b = max(e.offset, low), min(e.offset + e.length, high)
        if b > a:
            out.append(e.model_copy(update={"offset": a - low, "length": b - a}))
    return out or None


def shortened(text: str, html: bool, entities: Entities, limit: int) -> tuple[str, Entities]:
    """One part that fits, ending in "…"."""
    if html:
        return fit(text, limit), None
    part, ents = pieces(text, False, entities, limit - units(MORE))[0]
    return part + MORE, ents


def _copy(method: TelegramMethod[Any], **changes: Any) -> Any:
    fields = type(method).model_fields
    return method.model_copy(update={k: v for k, v in changes.items() if k in fields})


class FitToLimits(BaseRequestMiddleware):
    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        if isinstance(method, SendMessage):
            return await self.send_text(make_request, bot, method)
        if isinstance(method, CAPTIONED):
            return await self.send_captioned(make_request, bot, method)
        if isinstance(method, SendMediaGroup):
            return await self.send_album(make_request, bot, method)
        if isinstance(method, EditMessageText):
            method = self.edited(bot, method, "text", "entities", TEXT_LIMIT)
        elif isinstance(method, EditMessageCaption):
            method = self.edited(bot, method, "caption", "caption_entities", CAPTION_LIMIT)
        elif isinstance(method, AnswerCallbackQuery) and method.text \
                and units(method.text) > ALERT_LIMIT:
            method = _copy(method, text=cut_plain(method.text, ALERT_LIMIT))
        return await make_request(bot, method)

    async def send_text(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                        method: SendMessage) -> Any:
        html = is_html(bot, method.parse_mode, method.entities)
        if not too_long(method.text, html, TEXT_LIMIT):
            return await make_request(bot, method)
        parts = pieces(method.text, html, method.entities, TEXT_LIMIT)
        logger.info("a text of %d characters sent as %d messages", len(method.text),
                    len(parts))
        result = None
        for n, (text, entities) in enumerate(parts):
            first, last = n == 0, n == len(parts) - 1
            result = await make_request(bot, _copy(
                method, text=text, entities=entities,
                reply_markup=method.reply_markup if last else None,
                reply_parameters=method.reply_parameters if first else None,
                reply_to_message_id=method.reply_to_message_id if first else None))
        return result  # the message with the buttons

    async def send_captioned(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                             method: Any) -> Any:
        html = is_html(bot, method.parse_mode, method.caption_entities)
        if not too_long(method.caption, html, CAPTION_LIMIT):
            return await make_request(bot, method)
        logger.info("a caption of %d characters sent as a text after the media",
                    len(method.caption))
        await make_request(bot, _copy(method, caption=None, caption_entities=None,
                                      reply_markup=None))
        text = SendMessage(text=method.caption, parse_mode=method.parse_mode,
                           entities=method.caption_entities, reply_markup=method.reply_markup,
                           **{k: getattr(method, k) for k in _CARRIED})
        return await self.send_text(make_request, bot, text)

    async def send_album(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                         method: SendMediaGroup) -> Any:
        media, moved = [], []
        for item in method.media:
            if too_long(item.caption, is_html(bot, item.parse_mode, item.caption_entities),
                        CAPTION_LIMIT):
                moved.append(SendMessage(text=item.caption, parse_mode=item.parse_mode,
                                         entities=item.caption_entities,
                                         **{k: getattr(method, k) for k in _CARRIED}))
                item = item.model_copy(update={"caption": None, "caption_entities": None})
            media.append(item)
        if not moved:
            return await make_request(bot, method)
        logger.info("%d album captions over the limit sent as texts after the album",
                    len(moved))
        result = await make_request(bot, _copy(method, media=media))
        for text in moved:
            await self.send_text(make_request, bot, text)
        return result

    @staticmethod
    def edited(bot: Bot, method: Any, field: str, entities_field: str, limit: int) -> Any:
        value, entities = getattr(method, field), getattr(method, entities_field)
        html = is_html(bot, method.parse_mode, entities)
        if not too_long(value, html, limit):
            return method
        value, entities = shortened(value, html, entities, limit)
        return _copy(method, **{field: value, entities_field: entities})
