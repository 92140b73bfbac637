"""What an announcement sends, copied out of the author's message (not a reference to it):
a text, one medium, or an album, whose other parts arrive as separate messages."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message

ALBUM_KINDS = ("photo", "video", "document", "audio")
SINGLE_KINDS = ("photo", "video", "document", "animation", "audio", "voice")


def _entities(items: Any) -> list[dict[str, Any]] | None:
    return [e.model_dump(exclude_none=True, mode="json") for e in items] if items else None


def media_of(message: Message) -> tuple[str, str] | None:
    """(kind, file_id) of a media message."""
    if message.photo:
        return "photo", message.photo[-1].file_id
    for kind in SINGLE_KINDS[1:]:
        item = getattr(message, kind, None)
        if item is not None:
            return kind, item.file_id
    return None


def content_of(message: Message) -> dict[str, Any] | None:
    """What to send, or None for a kind of message that cannot be announced."""
    if message.text:
        preview = message.link_preview_options
        return {"kind": "text", "text": message.text, "entities": _entities(message.entities),
                "link_preview": not (preview and preview.is_disabled)}
    media = media_of(message)
    if media is None:
        return None
    kind, file_id = media
    if message.media_group_id:
        if kind not in ALBUM_KINDS:
            return None
        return {"kind": "album", "group": message.media_group_id,
                "media": [album_item(message, kind, file_id)]}
    return {"kind": kind, "file_id": file_id, "text": message.caption,
            "entities": _entities(message.caption_entities)}


def album_item(message: Message, kind: str, file_id: str) -> dict[str, Any]:
    return {"kind": kind, "file_id": file_id, "caption": message.caption,
            "entities": _entities(message.caption_entities)}


def add_album_part(content: dict[str, Any], message: Message) -> bool:
    """Add another part of the album being composed; False for anything else."""
    media = media_of(message)
    if content.get("group") != message.media_group_id or media is None or \
            media[0] not in ALBUM_KINDS:
        return False
    content["media"].append(album_item(message, *media))
    return True
