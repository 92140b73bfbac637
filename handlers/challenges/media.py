"""An entry shown again as the participant sent it, to reviewers and jurors."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import InputMediaDocument, InputMediaPhoto, InputMediaVideo, Message
from aiogram.utils.i18n import gettext as _

from db.models.challenges import Submission

logger = logging.getLogger(__name__)

INPUT_MEDIA = {"photo": InputMediaPhoto, "video": InputMediaVideo,
               "document": InputMediaDocument}


async def resend_media(message: Message, sub: Submission) -> bool:
    """The entry as the participant sent it (by file_id: nothing is downloaded); False when
    Telegram refused it. The card and its buttons come after it either way: one entry that
    cannot be shown (a file gone, a caption too long for Telegram) must not block the queue
    behind it for everyone in its area."""
    try:
        await _resend(message, sub)
    except TelegramAPIError as exc:
        logger.warning("entry %s: its content could not be shown (%s)", sub.id,
                       type(exc).__name__)
        return False
    return True


def media_note(shown: bool) -> list[str]:
    if shown:
        return []
    return [_("⚠️ Telegram did not show this entry's files. You can still decide on it "
              "from its description.")]


async def _resend(message: Message, sub: Submission) -> None:
    media = sub.media or []
    if len(media) > 1:
        group = [INPUT_MEDIA[m["type"]](media=m["file_id"], caption=m.get("caption"),
                                        parse_mode=None)
                 for m in media if m["type"] in INPUT_MEDIA]
        if all(m["type"] in ("photo", "video") for m in media) or \
                all(m["type"] == "document" for m in media):
            await message.answer_media_group(group[:10])
            return
    for m in media:
        sender = {"photo": message.answer_photo, "video": message.answer_video,
                  "document": message.answer_document}.get(m["type"])
        if sender is not None:
            await sender(m["file_id"], caption=m.get("caption"), parse_mode=None)
    if sub.text:
        await message.answer(sub.text, parse_mode=None)
