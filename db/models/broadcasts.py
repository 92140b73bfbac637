"""Broadcasts: an announcement to an audience, sent through the delivery queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class Broadcast(Base):
    """What was announced, to whom (audience within the author's scope), and when.

    `content` is the message itself (text, entities, file ids), never a reference to the
    author's chat: deleting the original does not break delivery. Per-recipient progress is
    in `deliveries` (source_type "broadcast", source_id = id).
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        Index("ix_broadcasts_status_scheduled", "status", "scheduled_at"),
        Index("ix_broadcasts_author_created", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"))  # cascade: forwarded from
    status: Mapped[str] = mapped_column(String(12))  # scheduled | sending | done | cancelled
    content: Mapped[dict] = mapped_column(JSON)
    audience: Mapped[str] = mapped_column(String(80))  # all | students | org:school | ...
    region_id: Mapped[int | None] = mapped_column(Integer)  # the area addressed
    district_id: Mapped[int | None] = mapped_column(Integer)
    ack: Mapped[str | None] = mapped_column(String(12))  # received | done
    cascade: Mapped[bool] = mapped_column(default=False)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    nudges: Mapped[int] = mapped_column(Integer, default=0)
    locale: Mapped[str] = mapped_column(String(5), default="kk")  # the author's, for reports
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BroadcastAck(Base):
    """A recipient pressed "✅ Received" / "✅ Done"."""

    __tablename__ = "broadcast_acks"
    __table_args__ = (UniqueConstraint("broadcast_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
