"""Registration, coordinator approval, invites and join links, profile edits, erasure."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.users import COORDINATOR, STAFF, STUDENT, UserCache
from db.base import utcnow
from db.models import ActivityLog, Delivery, FsmRecord, Invite, User

ORG_TYPES = ("school", "college", "university")
FACTIONS = ("self_knowledge", "happiness", "law_order", "care")
POSITIONS = ("president", "leader", "member")
LEVELS = ("regional", "district")
ORG_NAME_MIN, ORG_NAME_MAX = 2, 200
NAME_MAX = 120
GRADE_MAX = 20


def clean_text(text: str | None, low: int, high: int, error: str) -> str:
    value = " ".join((text or "").split())
    if not low <= len(value) <= high:
        raise DomainError(error, min=low, max=high)
    return value


def validate_org_name(text: str | None) -> str:
    return clean_text(text, ORG_NAME_MIN, ORG_NAME_MAX, "org_name_length")


def validate_full_name(text: str | None) -> str:
    return clean_text(text, 2, NAME_MAX, "name_length")


def validate_grade(text: str | None, org_type: str) -> str:
    value = (text or "").strip()
    high = 11 if org_type == "school" else 5
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise DomainError("grade_range", max=high)
    return value


@dataclass
class Registration:
    """Answers collected before consent (kept only in FSM data until then)."""

    locale: str
    role: str
    org_type: str | None = None
    region_id: int | None = None
    district_id: int | None = None
    org_name: str | None = None
    faction: str | None = None
    position: str | None = None
    grade: str | None = None
    level: str | None = None
    full_name: str | None = None
    invite_code: str | None = None

    @classmethod
    def from_fsm(cls, data: dict[str, Any]) -> Registration:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


async def complete_registration(
    session: AsyncSession, cache: UserCache, tg_id: int, chat_id: int, reg: Registration,
    consent_version: str, is_staff: bool,
) -> User:
    """Store the user at the moment of consent. Coordinators without an invite stay pending."""
    invite = await _redeem(session, reg.invite_code, "coordinator") if reg.invite_code else None
    user = await session.scalar(select(User).where(User.tg_id == tg_id)) or User(tg_id=tg_id)
    role = STAFF if is_staff else (COORDINATOR if invite else reg.role)
    user.chat_id, user.locale, user.role = chat_id, reg.locale, role
    user.status = "pending" if role == COORDINATOR and not invite else "active"
    user.org_type, user.org_name, user.full_name = reg.org_type, reg.org_name, reg.full_name
    user.region_id, user.district_id = reg.region_id, reg.district_id
    user.faction, user.position, user.grade = reg.faction, reg.position, reg.grade
    user.coordinator_level = reg.level if role == COORDINATOR else None
    if invite:
        user.coordinator_level, user.region_id = invite.level, invite.region_id
        user.district_id = invite.district_id if invite.level == "district" else None
        user.org_type = invite.org_type or user.org_type
        user.approved_by = invite.created_by
    user.consent_at, user.consent_version = utcnow(), consent_version
    user.erased_at, user.blocked_bot = None, False
    session.add(user)
    await session.flush()
    await log_activity(session, "register", user, extra={"role": role, "invite": bool(invite)})
    if user.status == "pending":
        await log_activity(session, "coordinator_request", user)
    cache.forget(tg_id)
    return user


async def decide_coordinator(
    session: AsyncSession, cache: UserCache, staff: User, coordinator_id: int, approve: bool
) -> User:
    user = await session.get(User, coordinator_id)
    if user is None or user.role != COORDINATOR or user.status == "erased":
        raise DomainError("not_found")
    if user.status != "pending":
        raise DomainError("already_decided", status=user.status)
    user.status = "active" if approve else "rejected"
    user.approved_by = staff.id
    await log_activity(session, "coordinator_approved" if approve else "coordinator_rejected",
                       user, ref_type="user", ref_id=staff.id)
    cache.forget(user.tg_id)
    return user


async def list_staff(session: AsyncSession, staff_ids: frozenset[int]) -> list[User]:
    rows = await session.scalars(select(User).where(
        (User.role == STAFF) | User.tg_id.in_(staff_ids), User.status == "active"))
    return list(rows)


def new_code() -> str:
    return secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


async def create_invite(
    session: AsyncSession, creator: User, kind: str, level: str | None, region_id: int | None,
    district_id: int | None, days: int | None = 7, max_uses: int | None = 1,
    org_type: str | None = None,
) -> Invite:
    invite = Invite(
        code=new_code(), kind=kind, created_by=creator.id, level=level, region_id=region_id,
        district_id=district_id, org_type=org_type, max_uses=max_uses,
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(invite)
    await session.flush()
    await log_activity(session, f"invite_{kind}", creator, ref_type="invite", ref_id=invite.id)
    return invite


async def check_invite(session: AsyncSession, code: str, kind: str,
                       now: datetime | None = None) -> Invite:
    invite = await session.scalar(select(Invite).where(Invite.code == code, Invite.kind == kind))
    if invite is None:
        raise DomainError("invite_unknown")
    if invite.expires_at and invite.expires_at <= (now or utcnow()):
        raise DomainError("invite_expired")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise DomainError("invite_used_up")
    return invite


async def _redeem(session: AsyncSession, code: str, kind: str) -> Invite:
    invite = await check_invite(session, code, kind)
    # Guarded increment: two people racing for the last use cannot both win.
    result = await session.execute(
        update(Invite).where(Invite.id == invite.id, (Invite.max_uses.is_(None))
                             | (Invite.uses < Invite.max_uses))
        .values(uses=Invite.uses + 1)
    )
    if result.rowcount != 1:
        raise DomainError("invite_used_up")
    return invite


async def join_link_for(session: AsyncSession, coordinator: User) -> Invite:
    """The coordinator's permanent student join link (one per coordinator)."""
    invite = await session.scalar(select(Invite).where(
        Invite.kind == "join", Invite.created_by == coordinator.id))
    if invite:
        return invite
    district = coordinator.district_id if coordinator.coordinator_level == "district" else None
    return await create_invite(session, coordinator, "join", None, coordinator.region_id,
                               district, days=None, max_uses=None,
                               org_type=coordinator.org_type)


async def use_join_link(session: AsyncSession, code: str) -> Invite:
    invite = await check_invite(session, code, "join")
    invite.uses += 1
    return invite


PROFILE_FIELDS = ("full_name", "org_name", "faction", "position", "grade", "region_id",
                  "district_id", "org_type")


async def update_profile(session: AsyncSession, cache: UserCache, user: User,
                         field: str, value: Any) -> User:
    if field not in PROFILE_FIELDS:
        raise DomainError("bad_field")
    setattr(user, field, value)
    if field == "region_id":
        user.district_id = None
    await log_activity(session, "profile_edit", user, extra={"field": field})
    cache.forget(user.tg_id)
    return user


async def set_locale(session: AsyncSession, cache: UserCache, user: User, locale: str) -> None:
    user.locale = locale
    cache.forget(user.tg_id)


async def erase_user(session: AsyncSession, cache: UserCache, user: User) -> None:
    """Erase personal data; the row stays as an anonymous id so counts keep adding up."""
    tg_id = user.tg_id
    await log_activity(session, "erase", user)
    for field in ("tg_id", "chat_id", "full_name", "org_name", "grade", "consent_at",
                  "consent_version"):
        setattr(user, field, None)
    user.status, user.erased_at, user.settings = "erased", utcnow(), {}
    await session.execute(update(Delivery).where(
        Delivery.user_id == user.id, Delivery.status == "queued").values(status="cancelled"))
    await session.execute(update(ActivityLog).where(ActivityLog.user_id == user.id)
                          .values(extra=None))
    if tg_id is not None:
        await session.execute(FsmRecord.__table__.delete().where(
            FsmRecord.key.like(f"%:{tg_id}:%")))
    cache.forget(tg_id)
