"""Certificates: the registry of issued diplomas and the per-template settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class Certificate(Base):
    """One issued certificate. The PDF is not stored: it is rendered from this row.

    template: winner | participant | webinar | series. `issue_key` is unique per
    (template, source, person, slot), so issuing again only adds the missing ones.
    `full_name` and `org_name` are what was printed, frozen at issue time.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_source", "source_type", "source_id"),
        Index("ix_certificates_user", "user_id"),
        Index("ix_certificates_queue", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    issue_key: Mapped[str] = mapped_column(String(120), unique=True)
    template: Mapped[str] = mapped_column(String(16))
    source_type: Mapped[str] = mapped_column(String(16))  # challenge | webinar | series
    source_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    full_name: Mapped[str] = mapped_column(String(200))
    org_name: Mapped[str | None] = mapped_column(String(200))
    # the holder's region at issue: /verify names it instead of the organisation
    region_id: Mapped[int | None] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(5), default="kk")
    # per-language texts printed on it: {"title": {"kk": .., "ru": ..}, "place": "1", ...}
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # handed to delivery
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class CertificateTemplate(Base):
    """Staff settings of one template: background image and signatories."""

    __tablename__ = "certificate_templates"

    template: Mapped[str] = mapped_column(String(16), primary_key=True)
    background: Mapped[bytes | None] = mapped_column(LargeBinary)  # normalised JPEG
    # {"*": [{"title": .., "name": ..}], "kk": [...], "ru": [...]}; "*" = every language
    signatories: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
