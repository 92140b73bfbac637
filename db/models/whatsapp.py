"""WhatsApp contacts: who writes to the bot's WhatsApp number (bot/channels/whatsapp).

aiogram and the whole bot speak integer user and chat ids; a WhatsApp person is a string
(their business-scoped user id, BSUID; the phone number `wa_id` may be absent). Each
contact gets a row here, and the bot knows them as the negative number `-id` (`ext_id`):
Telegram never gives a private chat a negative id, so FSM keys, the user cache and
`users.tg_id` work unchanged and never collide. `users.channel` is "whatsapp" for them.

The row is created at the first message (as Telegram's own id, it is what lets the bot
answer at all) and deleted by /deleteme; it holds no name.

One person on both messengers (/link, bot/services/links.py) is one `users` row: its
`tg_id` is their Telegram id, and their contact points to it (`user_id`). The transport then
presents that contact's messages as from that person (`from.id` = users.tg_id) in the
WhatsApp chat (`chat.id` = -wa_contacts.id), so replies go back where they were asked.
`LinkCode` is the one-time code that proves both chats are the same person's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow

WHATSAPP = "whatsapp"


class WaContact(Base):
    __tablename__ = "wa_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Text, unique=True)  # BSUID (else the wa_id)
    wa_id: Mapped[str | None] = mapped_column(String(32))  # the phone number, if given
    # The last numbered menu sent (callback data by number); NULL once a message without
    # a menu followed it: a number typed then is an answer, not a choice.
    menu: Mapped[list | None] = mapped_column(JSON)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the 24 h window
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The person this contact is linked to (/link) when their row's tg_id is not -id: NULL
    # for a WhatsApp-only person (users.tg_id = -id) and for a guest.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True)

    @property
    def ext_id(self) -> int:
        """The id aiogram and the bot's tables know this person by (user and chat)."""
        return -self.id


def channel_of(ext_id: int | None) -> str:
    """The messenger of a person known by this id: negative ids are WhatsApp contacts."""
    return WHATSAPP if ext_id is not None and ext_id < 0 else "telegram"


class LinkCode(Base):
    """A one-time code a registered person asked for with /link, to type in the other
    messenger: kept as a keyed hash, valid 15 minutes, used once (kept used until it is
    purged, so a second try is told "already used" rather than "wrong")."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LinkAttempt(Base):
    """A wrong code typed, by a keyed hash of the chat (never the id itself): a chat gets
    a few tries an hour, so six digits cannot be guessed by trying."""

    __tablename__ = "link_attempts"
    __table_args__ = (Index("ix_link_attempts_person", "person_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
