"""Webinars and events: the event, who registered (and came), and its reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class Webinar(Base):
    """One webinar or online meeting. Texts per language; en may be empty (falls back)."""

    __tablename__ = "webinars"
    __table_args__ = (Index("ix_webinars_status_starts", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title_kk: Mapped[str] = mapped_column(String(200))
    title_ru: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description_kk: Mapped[str] = mapped_column(Text)
    description_ru: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_min: Mapped[int] = mapped_column(Integer)
    join_url: Mapped[str] = mapped_column(String(500))
    speakers: Mapped[list] = mapped_column(JSON, default=list)
    # {"roles": [...], "org_types": [...], "factions": [...], "positions": [...],
    #  "regions": [ids]}; an empty or missing list means "any".
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    capacity: Mapped[int | None] = mapped_column(Integer)
    reminder_offsets: Mapped[list] = mapped_column(JSON, default=list)  # minutes before start
    status: Mapped[str] = mapped_column(String(12), default="published")
    # published | cancelled
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # bumped on change (.ics)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def text(self, field: str, locale: str) -> str:
        """title/description in `locale`, else Russian (for en), else Kazakh."""
        for lang in (locale, "ru" if locale == "en" else "kk", "kk"):
            value = getattr(self, f"{field}_{lang}", None)
            if value:
                return value
        return ""


class WebinarRegistration(Base):
    """A person registered for a webinar (status registered|cancelled), and attendance."""

    __tablename__ = "webinar_registrations"
    __table_args__ = (
        UniqueConstraint("webinar_id", "user_id"),
        Index("ix_webinar_registrations_user", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinars.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="registered")
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    attended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebinarReminder(Base):
    """One reminder of a webinar at one offset; the tick sends it to every registrant once.

    status: pending | sent | skipped | cancelled.
    """

    __tablename__ = "webinar_reminders"
    __table_args__ = (
        UniqueConstraint("webinar_id", "offset_min"),
        Index("ix_webinar_reminders_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinars.id", ondelete="CASCADE"))
    offset_min: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recipients: Mapped[int | None] = mapped_column(Integer)
