"""The durable delivery queue: one row per recipient and message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class OutboxPayload(Base):
    """What to send, Telegram-agnostic (see bot.services.delivery.OutgoingMessage)."""

    __tablename__ = "outbox_payloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Delivery(Base):
    """One message to one person. `dedup_key` is unique: nobody gets the same message twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_claim", "status", "priority", "next_attempt_at"),
        Index("ix_deliveries_source", "source_type", "source_id", "status"),
        # erasure: a person's messages, and whether anybody else got the same payload
        Index("ix_deliveries_user", "user_id"),
        Index("ix_deliveries_payload", "payload_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(120), unique=True)
    source_type: Mapped[str] = mapped_column(String(24))  # broadcast | reminder | notice | ...
    source_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the address on `channel`
    # the channel the worker sends it through (bot.channels): telegram
    channel: Mapped[str] = mapped_column(String(16), default="telegram",
                                         server_default="telegram")
    payload_id: Mapped[int] = mapped_column(ForeignKey("outbox_payloads.id"))
    priority: Mapped[int] = mapped_column(Integer, default=5)  # lower goes first
    status: Mapped[str] = mapped_column(String(12), default="queued")
    # queued | sending | sent | failed | blocked | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OwedMessage(Base):
    """A message that went out only in part and is owed in full (bot.services.owed).

    WhatsApp outside its 24-hour window carries an approved template: at most 850 characters
    of the text, an album's first photo only, no buttons but the acknowledgement. The worker
    notes such a row here when it records it sent; once the person writes again (the window
    opens) the row's own payload is queued to them once more, whole. A note is the row's id
    and where it went: the payload stays where it is, shared with everyone else's rows.
    """

    __tablename__ = "owed_messages"
    __table_args__ = (Index("ix_owed_messages_chat", "chat_id"),)

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the delivery's address, as it went
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)  # when sent
