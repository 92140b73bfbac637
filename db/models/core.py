"""Core tables: people, places, invites, the activity log, bot bookkeeping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UtcDateTime, utcnow
from db.models.whatsapp import channel_of


def _channel_of_new_user(context: object) -> str:
    """A user stored with a WhatsApp contact's negative id is on WhatsApp (db.models.whatsapp)."""
    return channel_of(context.get_current_parameters().get("tg_id"))  # type: ignore[attr-defined]


class Region(Base):
    """An oblast or a city of republican significance."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_kk: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    sort: Mapped[int] = mapped_column(Integer, default=0)

    def name(self, locale: str) -> str:
        return getattr(self, f"name_{locale}", None) or self.name_kk


class District(Base):
    """A district, a city of regional significance, or a district of a republican city."""

    __tablename__ = "districts"
    __table_args__ = (Index("ix_districts_region_sort", "region_id", "sort"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    kind: Mapped[str] = mapped_column(String(20))  # district | city | city_district
    name_kk: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship(lazy="raise")

    def name(self, locale: str) -> str:
        return getattr(self, f"name_{locale}", None) or self.name_kk


LIVE_IN_DISTRICT = "merged_into_id IS NULL AND district_id IS NOT NULL"
LIVE_IN_REGION = "merged_into_id IS NULL AND district_id IS NULL"


class Organisation(Base):
    """A school, college or university of one district (of a region, for regional
    coordinators, whose district is not set). Typed once by the first person from it, picked
    from the list by everyone after. `key` is the name's search key (db.org_names.org_key);
    `merged_into_id` points at the record that replaced a duplicate (staff /orgs)."""

    __tablename__ = "organisations"
    __table_args__ = (
        Index("ix_organisations_place", "region_id", "district_id", "org_type"),
        # One live record per place and key (migration 0021): two people typing a new school
        # at once get one record. NULLs never collide in a unique index, so the regional
        # records (no district) have an index of their own.
        Index("uq_organisations_live", "region_id", "district_id", "org_type", "key",
              unique=True, sqlite_where=text(LIVE_IN_DISTRICT),
              postgresql_where=text(LIVE_IN_DISTRICT)),
        Index("uq_organisations_live_regional", "region_id", "org_type", "key", unique=True,
              sqlite_where=text(LIVE_IN_REGION), postgresql_where=text(LIVE_IN_REGION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    org_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # users.id of who typed it; no foreign key (users already point here, and a cycle of keys
    # would complicate every create and drop), and /deleteme clears it (personal data).
    created_by: Mapped[int | None] = mapped_column(Integer)


class User(Base):
    """A person who consented. Before consent nothing is stored here (only FSM answers)."""

    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_scope", "region_id", "district_id", "role"),
        Index("ix_users_role_status", "role", "status"),
        Index("ix_users_username", "username"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tg_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # NULL once erased
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16), default=_channel_of_new_user)
    locale: Mapped[str] = mapped_column(String(5), default="kk")
    role: Mapped[str] = mapped_column(String(16))  # student | coordinator | staff
    status: Mapped[str] = mapped_column(String(16), default="active")
    # status: active | pending (coordinator awaiting approval) | rejected | erased
    full_name: Mapped[str | None] = mapped_column(String(200))
    # Telegram @username, lower-case, no "@" (None: none, WhatsApp, erased); kept current by
    # bot.middlewares.UserContextMiddleware, so staff can name a person by it (people picker)
    username: Mapped[str | None] = mapped_column(String(32))
    org_type: Mapped[str | None] = mapped_column(String(16))  # school | college | university
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    # The organisation's record (db.models.core.Organisation); `org_name` is its name kept
    # beside it for display and exports, rewritten when staff merge or rename the record.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    org_name: Mapped[str | None] = mapped_column(String(200))
    faction: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[str | None] = mapped_column(String(16))  # president | leader | member
    grade: Mapped[str | None] = mapped_column(String(20))
    coordinator_level: Mapped[str | None] = mapped_column(String(16))  # regional | district
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(20))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set by /demote: STAFF_IDS no longer makes this person staff at start (/promote clears it).
    staff_revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Minors: below settings.guardian_age a student account is `limited` from the moment it is
    # stored until a parent or guardian confirms through a one-time link. Until then it:
    #   - sends no entries;
    #   - joins no challenges or actions (webinars: may register and attend);
    #   - gets no certificates (a run of /certificates after the confirmation issues them);
    #   - is in staff exports only as "waiting for a guardian", without name or organisation;
    #   - is named in no coordinator's list (leaderboards rank places, never people).
    # tests/test_minors.py walks each line of this list (README: "Minors and privacy").
    age_band: Mapped[str | None] = mapped_column(String(8))
    limited: Mapped[bool] = mapped_column(default=False)
    guardian_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    guardian_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    guardian_consent_version: Mapped[str | None] = mapped_column(String(20))
    blocked_bot: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Invite(Base):
    """A deep link: `inv_` registers a coordinator with a scope, `j_` pre-fills a student's
    place."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # coordinator | join
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    level: Mapped[str | None] = mapped_column(String(16))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    org_type: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ActivityLog(Base):
    """Append-only: one row per meaningful action; the source of every count."""

    __tablename__ = "activity_log"
    __table_args__ = (
        Index("ix_activity_kind_at", "kind", "at"),
        Index("ix_activity_at_region", "at", "region_id"),
        Index("ix_activity_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    role: Mapped[str | None] = mapped_column(String(16))
    region_id: Mapped[int | None] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    org_type: Mapped[str | None] = mapped_column(String(16))
    ref_type: Mapped[str | None] = mapped_column(String(24))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict | None] = mapped_column(JSON)


class ProcessedUpdate(Base):
    """Update ids already handled: a redelivered update is recognised and skipped."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ParkedUpdate(Base):
    """An update that left its polling batch to finish on its own (a long read, see
    bot.polling), kept until it is handled: Telegram has been told it arrived, so after a
    crash this row is what brings it back.

    The payload is the update as Telegram sent it (the sender's name, what they typed): the
    row is deleted once the update is handled, and /deleteme deletes the sender's rows
    (`sender_id`, their Telegram id) at once."""

    __tablename__ = "parked_updates"
    __table_args__ = (Index("ix_parked_updates_sender", "sender_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sender_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict] = mapped_column(JSON)
    parked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BotState(Base):
    """Small key/value bookkeeping (polling offset, instance lock, last digest week)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CoordinatorRequest(Base):
    """A coordinator request of the last day, kept by a keyed hash of the Telegram id so that
    "/deleteme, register again" cannot repeat requests (and staff notices) without limit.
    Deleted after a day (bot/services/coordinator_requests.py)."""

    __tablename__ = "coordinator_requests"
    __table_args__ = (Index("ix_coordinator_requests_person", "person_key", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The requester while no notice to staff has covered the request yet; NULL after it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class FsmRecord(Base):
    """aiogram FSM state and data, so a flow survives a restart."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # the last write: answers left for FSM_TTL expire (bot.storage), before consent too
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
