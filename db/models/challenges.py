"""Challenges, actions and contests: options, participants, submissions, winners."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class Challenge(Base):
    """kind: challenge | action | contest; status: draft | open | closed | judged."""

    __tablename__ = "challenges"
    __table_args__ = (Index("ix_challenges_status_deadline", "status", "deadline_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    title_kk: Mapped[str] = mapped_column(String(200))
    title_ru: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description_kk: Mapped[str] = mapped_column(Text)
    description_ru: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    # {"org_types": [...], "factions": [...], "region_ids": [...]}; an empty list means any.
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    content_kinds: Mapped[list] = mapped_column(JSON, default=list)
    max_submissions: Mapped[int] = mapped_column(Integer, default=1)
    cover_file_id: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    results_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminders_done: Mapped[list] = mapped_column(JSON, default=list)  # day offsets sent
    # The jury round: criteria [{"kk", "ru", "en"}] each scored 0-10; scores needed per entry.
    jury_criteria: Mapped[list] = mapped_column(JSON, default=list)
    jury_quorum: Mapped[int] = mapped_column(Integer, default=3)
    jury_closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Review tiers in order, a subset of ["district", "regional"]; empty: one review by any
    # coordinator of the scope. An entry approved at the last tier goes to the jury.
    review_tiers: Mapped[list] = mapped_column(JSON, default=list)

    def text(self, field: str, locale: str) -> str:
        """The title or description in `locale`, falling back to another language."""
        order = {"kk": ("kk", "ru", "en"), "ru": ("ru", "kk", "en"),
                 "en": ("en", "ru", "kk")}.get(locale, ("kk", "ru", "en"))
        for lang in order:
            value = getattr(self, f"{field}_{lang}")
            if value:
                return value
        return ""


class ChallengeOption(Base):
    """A nomination or an age category of a contest (kind: nomination | category)."""

    __tablename__ = "challenge_options"
    __table_args__ = (Index("ix_challenge_options_challenge", "challenge_id", "kind", "sort"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str | None] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))

    def name(self, locale: str) -> str:
        return getattr(self, f"name_{locale}", None) or self.name_ru or self.name_kk


class ChallengeParticipant(Base):
    """Someone who joined (for an action, joining is the participation)."""

    __tablename__ = "challenge_participants"
    __table_args__ = (
        UniqueConstraint("challenge_id", "user_id", name="uq_challenge_participants_pair"),
        Index("ix_challenge_participants_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Submission(Base):
    """One entry. status: pending | approved | rejected | withdrawn.

    `media`: [{"type", "file_id", "file_unique_id", "size", "caption"}] (an album is one
    entry); text and links are in `text`. Region, district and organisation are copied from
    the participant at submission time: scope queries and counts need no join, and the jury's
    recusal compares the place the entry came from, not where its author is today.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_challenge_status", "challenge_id", "status"),
        Index("ix_submissions_user", "user_id", "challenge_id"),
        Index("ix_submissions_scope", "status", "region_id", "district_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    nomination_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenge_options.id", ondelete="SET NULL"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenge_options.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    stage: Mapped[str | None] = mapped_column(String(12))  # the review tier it waits for
    content_kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list] = mapped_column(JSON, default=list)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    region_id: Mapped[int | None] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)  # as org_name: a copy
    org_name: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(12))  # grand_prix | 1 | 2 | 3 | diploma
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)


class JuryMember(Base):
    """A juror of one contest. Region, district and organisation are the juror's as they were
    when added: recusal holds against them (and against the current profile too), so moving
    in /profile never opens one's own region to one's scores. `offered_id` is the entry the
    juror was last offered and has not started: the only new entry they may score."""

    __tablename__ = "jury_members"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id", name="uq_jury_members_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    region_id: Mapped[int | None] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)  # as org_name: a copy
    org_name: Mapped[str | None] = mapped_column(String(200))
    offered_id: Mapped[int | None] = mapped_column(Integer)


class JuryScore(Base):
    """One juror's score (0-10) of one criterion (its index) of one entry."""

    __tablename__ = "jury_scores"
    __table_args__ = (
        UniqueConstraint("submission_id", "juror_id", "criterion", name="uq_jury_scores_one"),
        Index("ix_jury_scores_juror", "juror_id", "submission_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    juror_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    criterion: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
