"""WhatsApp webhooks as the aiogram Updates the Dispatcher already handles.

- text → a message with that text (a leading /word is a command, as on Telegram);
- a number answering the last message's numbered menu → a callback_query with that
  option's callback data;
- a reply button or list row chosen → a callback_query whose data is the button's id,
  which is the original callback data; an option whose data is a command ("/profile", the
  /help menu's) → a message with that command, as if typed;
- image, document, video, audio, voice, sticker → a message with a photo/document/… whose
  file id names the copy the transport has just stored (bot.services.media_store), else
  the WhatsApp media id;
- anything else (location, contacts, reaction, …) → a message with no content: the
  fallback answers it.

Each message is one update whose id is derived from its wamid (negative, so it never meets a
Telegram update id): `processed_updates` then de-duplicates a webhook Meta delivers again,
recorded in the handler's own transaction as for Telegram (bot/webhook.py). The body is
Meta's documented shape; pywa's parser is not used because it would hand us its own types
to translate again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.channels.whatsapp.contacts import Contact
from bot.channels.whatsapp.render import COUNTING
from bot.channels.whatsapp.session import callback_id

MEDIA_KINDS = {"image": "photo", "document": "document", "video": "video",
               "audio": "audio", "sticker": "sticker"}
MEDIA_EXTRA: dict[str, dict[str, Any]] = {
    "photo": {"width": 0, "height": 0},
    "video": {"width": 0, "height": 0, "duration": 0},
    "audio": {"duration": 0},
    "voice": {"duration": 0},
    "sticker": {"type": "regular", "width": 0, "height": 0, "is_animated": False,
                "is_video": False},
}
FALLBACK_NAME = "WhatsApp"
COMMAND = "/"  # an option whose data is a command is that command typed (handlers.shared.menu)


@dataclass(frozen=True)
class Incoming:
    """One message from a webhook, with who sent it."""

    wamid: str
    address: str  # BSUID, else the wa_id
    wa_id: str | None
    name: str
    message: dict[str, Any]


def messages_of(body: dict[str, Any]) -> Iterator[Incoming]:
    """The messages in a webhook body (statuses and other fields are not updates)."""
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for message in value.get("messages") or []:
                incoming = _incoming(message, value.get("contacts") or [{}])
                if incoming is not None:
                    yield incoming


def _incoming(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Incoming | None:
    contact = _contact_for(message, contacts)
    address = (contact.get("user_id") or message.get("from_user_id")
               or message.get("from") or contact.get("wa_id"))
    if not address or not message.get("id"):
        return None
    wa_id = contact.get("wa_id") or message.get("from") or None
    name = (contact.get("profile") or {}).get("name") or FALLBACK_NAME
    return Incoming(str(message["id"]), str(address), str(wa_id) if wa_id else None,
                    str(name)[:64], message)


def _contact_for(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    sender = message.get("from_user_id") or message.get("from")
    for contact in contacts:
        if sender in (contact.get("user_id"), contact.get("wa_id")):
            return contact
    return contacts[0]


def update_id_of(wamid: str) -> int:
    """A negative 62-bit number for the wamid: the same for a message delivered twice."""
    return -(int.from_bytes(hashlib.sha256(wamid.encode()).digest()[:8], "big") >> 2) - 1


def message_id_of(wamid: str) -> int:
    return int.from_bytes(hashlib.sha256(wamid.encode()).digest()[:4], "big") >> 1


def to_update(incoming: Incoming, contact: Contact, bot_id: int) -> dict[str, Any]:
    """The Update (as a dict for Update.model_validate) this message stands for."""
    message = incoming.message
    # a person linked to their Telegram (/link) talks as that person, in the WhatsApp chat
    person = {"id": contact.person_id, "is_bot": False, "first_name": incoming.name}
    chat = {"id": contact.ext_id, "type": "private", "first_name": incoming.name}
    data = _chosen(message, contact.menu)
    update_id = update_id_of(incoming.wamid)
    if data is not None and data.startswith(COMMAND):  # a command from the menu (/help)
        message, data = {"type": "text", "text": {"body": data}}, None
    if data is not None:
        context = (message.get("context") or {}).get("id") or incoming.wamid
        return {"update_id": update_id, "callback_query": {
            "id": callback_id(contact.ext_id, incoming.wamid), "from": person,
            "chat_instance": f"wa{contact.ext_id}", "data": data,
            "message": {"message_id": message_id_of(context), "date": 0, "chat": chat,
                        "text": "…", "from": {"id": bot_id, "is_bot": True,
                                             "first_name": "Mektep Parliament"}}}}
    content = _content(message)
    return {"update_id": update_id, "message": {
        "message_id": message_id_of(incoming.wamid), "date": int(message.get("timestamp") or 0),
        "chat": chat, "from": person, **content}}


def _chosen(message: dict[str, Any], menu: list[str] | None) -> str | None:
    """The callback data the person chose: a button, a list row, or a menu's number."""
    kind = message.get("type")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        return reply.get("id") or None
    if kind == "button":  # a template's quick-reply button
        return (message.get("button") or {}).get("payload") or None
    if kind == "text" and menu:
        return _numbered(((message.get("text") or {}).get("body") or ""), menu)
    return None


def _numbered(typed: str, menu: list[str]) -> str | None:
    typed = typed.strip().lstrip("#")
    if not (typed.isascii() and typed.isdigit()):
        return None
    first, options = 1, menu
    if menu[0].startswith(COUNTING):  # options that are numbers: typed is the option itself
        first, options = int(menu[0].removeprefix(COUNTING)), menu[1:]
    if first <= int(typed) < first + len(options):
        return options[int(typed) - first]
    return None


def media_of(message: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(WhatsApp's kind, its media object) of a message carrying a file, else None."""
    kind = str(message.get("type") or "")
    media = message.get(kind)
    if kind in MEDIA_KINDS and isinstance(media, dict) and media.get("id"):
        return kind, media
    return None


def _content(message: dict[str, Any]) -> dict[str, Any]:
    kind = str(message.get("type") or "")
    if kind == "text":
        text = (message.get("text") or {}).get("body") or ""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return content
    media = message.get(kind) or {}
    target = "voice" if kind == "audio" and media.get("voice") else MEDIA_KINDS.get(kind)
    if target is None or not media.get("id"):
        return {}
    content = {target: _media(target, media)}
    if media.get("caption"):
        content["caption"] = media["caption"]
    return content


def _media(target: str, media: dict[str, Any]) -> Any:
    """The file as aiogram describes it; its id is the WhatsApp media id."""
    media_id = str(media["id"])
    sent = {"file_id": media_id, "file_unique_id": media_id[-16:],
            **MEDIA_EXTRA.get(target, {})}
    if media.get("mime_type") and target not in ("photo", "sticker"):
        sent["mime_type"] = media["mime_type"]
    if target == "document" and media.get("filename"):
        sent["file_name"] = media["filename"]
    return [sent] if target == "photo" else sent
