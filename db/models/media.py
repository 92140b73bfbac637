"""The media store's index (bot.services.media_store): files people sent over WhatsApp,
downloaded when they arrived because WhatsApp media ids expire.

The bytes are files under the data folder named by their sha256; a row says whose they are
(the sender's id as the bot knows them, `users.tg_id`), with the mime type, size and file
name. The same bytes sent by two people are one file and two rows; /deleteme deletes the
person's rows and the files no row names any more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class StoredMedia(Base):
    __tablename__ = "stored_media"
    __table_args__ = (UniqueConstraint("sha256", "owner_id"),
                      Index("ix_stored_media_owner", "owner_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int] = mapped_column(BigInteger)  # the sender's users.tg_id
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
