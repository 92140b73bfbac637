"""Registration, coordinator approval, invites and join links, profile edits, erasure."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import coordinator_requests, people
from bot.services import organisations as orgs
from bot.services.activity import log_activity
from bot.services.approvals import approves
from bot.services.errors import DomainError
from bot.services.guardian import set_age_band
from bot.services.numbers import typed_int
from bot.services.text import strip_controls
from bot.services.users import (
    COORDINATOR,
    STAFF,
    STUDENT,
    UserCache,
    UserInfo,
    claim_username,
    username_of,
)
from db.base import utcnow
from db.models import (
    District,
    Invite,
    Region,
    User,
)

LOCALES = ("kk", "ru", "en")
ORG_TYPES = ("school", "college", "university")
FACTIONS = ("self_knowledge", "happiness", "law_order", "care")
POSITIONS = ("president", "leader", "member")
LEVELS = ("regional", "district")
ORG_NAME_MIN, ORG_NAME_MAX = 2, 200
NAME_MAX = 120
GRADE_MAX = 20
INVITE_DAYS_MAX, INVITE_USES_MAX = 365, 1000


def clean_text(text: str | None, low: int, high: int, error: str) -> str:
    # control characters never get stored: an export would refuse them (services.xlsx)
    value = " ".join(strip_controls(text or "").split())
    if not low <= len(value) <= high:
        raise DomainError(error, min=low, max=high)
    return value


def validate_org_name(text: str | None) -> str:
    value = clean_text(text, ORG_NAME_MIN, ORG_NAME_MAX, "org_name_length")
    if sum(ch.isalnum() for ch in value) < 2:  # "😀😀😀" or "--" names no school
        raise DomainError("org_name_letters")
    return value


def validate_full_name(text: str | None) -> str:
    """The name printed on certificates: letters, not digits or emoji alone."""
    value = clean_text(text, 2, NAME_MAX, "name_length")
    if sum(ch.isalpha() for ch in value) < 2:
        raise DomainError("name_letters")
    return value


def validate_grade(text: str | None, org_type: str) -> str:
    value = (text or "").strip()
    high = 11 if org_type == "school" else 5
    number = typed_int(value, max_digits=2)
    if number is None or not 1 <= number <= high:
        raise DomainError("grade_range", max=high)
    return str(number)


def certificate_name(telegram_name: str) -> str | None:
    """The Telegram name, if it could stand on a certificate (letters, not "😀😀😀")."""
    try:
        return validate_full_name(telegram_name[:NAME_MAX])
    except DomainError:
        return None


@dataclass
class Registration:
    """Answers collected before consent (kept only in FSM data until then)."""

    locale: str
    role: str
    org_type: str | None = None
    region_id: int | None = None
    district_id: int | None = None
    org_name: str | None = None
    organisation_id: int | None = None  # picked from the list; None: `org_name` was typed
    faction: str | None = None
    position: str | None = None
    grade: str | None = None
    level: str | None = None
    full_name: str | None = None
    invite_code: str | None = None
    age_band: str | None = None
    username: str | None = None  # Telegram's @username as it is at consent

    @classmethod
    def from_fsm(cls, data: dict[str, Any]) -> Registration:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


async def complete_registration(
    session: AsyncSession, cache: UserCache, tg_id: int, chat_id: int, reg: Registration,
    consent_version: str, is_staff: bool, now: datetime | None = None, guardian_age: int = 16,
) -> User:
    """Store the user at the moment of consent. Coordinators without an invite stay pending;
    a student below `guardian_age` is stored limited, with the guardian link's token, in the
    same transaction (nothing is replied before this commits)."""
    now = now or utcnow()
    if reg.locale not in LOCALES:  # answers kept from a forged language button (review I1)
        raise DomainError("bad_value")
    invite = (await _redeem(session, reg.invite_code, "coordinator", now)
              if reg.invite_code else None)
    role = STAFF if is_staff else (COORDINATOR if invite else reg.role)
    # A request to staff: limited per person, also across /deleteme (review L4).
    request_key = (await coordinator_requests.admit(session, tg_id, now)
                   if role == COORDINATOR and not invite else None)
    user = await session.scalar(select(User).where(User.tg_id == tg_id)) or User(tg_id=tg_id)
    _fill(user, reg, role, chat_id, pending=role == COORDINATOR and not invite)
    if invite:
        _apply_invite(user, invite)
    user.consent_at, user.consent_version = now, consent_version
    user.erased_at, user.blocked_bot = None, False
    set_age_band(user, reg.age_band if role == STUDENT else None, guardian_age)
    session.add(user)
    await session.flush()
    await _file_organisation(session, user, reg)
    if user.username:  # a stale holder of this @username loses it (bot.services.users)
        await claim_username(session, tg_id, user.username)
    await log_activity(session, "register", user, extra={"role": role, "invite": bool(invite)})
    if user.status == "pending":
        await log_activity(session, "coordinator_request", user)
    if request_key:
        await coordinator_requests.record(session, request_key, user.id, now)
    cache.forget(tg_id)
    return user


def _fill(user: User, reg: Registration, role: str, chat_id: int, pending: bool) -> None:
    """The registration's answers; a coordinator without an invite waits for approval."""
    user.chat_id, user.locale, user.role = chat_id, reg.locale, role
    user.status = "pending" if pending else "active"
    user.org_type, user.org_name, user.full_name = reg.org_type, reg.org_name, reg.full_name
    user.organisation_id = None  # filed after the invite set the place (_file_organisation)
    user.region_id, user.district_id = reg.region_id, reg.district_id
    user.faction, user.position, user.grade = reg.faction, reg.position, reg.grade
    user.coordinator_level = reg.level if role == COORDINATOR else None
    user.username = username_of(reg.username)


def _apply_invite(user: User, invite: Invite) -> None:
    """An invite sets the scope its creator chose, and stands for their approval."""
    user.coordinator_level, user.region_id = invite.level, invite.region_id
    user.district_id = invite.district_id if invite.level == "district" else None
    user.org_type = invite.org_type or user.org_type
    user.approved_by = invite.created_by


async def decide_coordinator(
    session: AsyncSession, cache: UserCache, staff: User, coordinator_id: int, approve: bool
) -> User:
    user = await session.get(User, coordinator_id)
    if user is None or user.role != COORDINATOR or user.status == "erased":
        raise DomainError("not_found")
    if not approves(staff, user):  # a regional coordinator: her region's district requests
        raise DomainError("not_your_request")
    if user.status != "pending":
        raise DomainError("already_decided", status=user.status)
    user.status = "active" if approve else "rejected"
    user.approved_by = staff.id
    await log_activity(session, "coordinator_approved" if approve else "coordinator_rejected",
                       user, ref_type="user", ref_id=staff.id)
    cache.forget(user.tg_id)
    return user


async def list_staff(session: AsyncSession, staff_ids: frozenset[int] = frozenset(),
                     ) -> list[User]:
    """Everyone who is staff now. The database decides: STAFF_IDS is applied once, at start
    (bot.services.staff.bootstrap), so `staff_ids` no longer adds anyone (a person demoted
    with /demote gets no staff notices); it stays for the callers that still pass it."""
    from bot.services.staff import list_staff as staff_now

    return await staff_now(session)


def new_code() -> str:
    return secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


async def create_invite(
    session: AsyncSession, creator: User, kind: str, level: str | None, region_id: int | None,
    district_id: int | None, days: int | None = 7, max_uses: int | None = 1,
    org_type: str | None = None, now: datetime | None = None,
) -> Invite:
    if days is not None and not 1 <= days <= INVITE_DAYS_MAX:
        raise DomainError("invite_days", max=INVITE_DAYS_MAX)
    if max_uses is not None and not 1 <= max_uses <= INVITE_USES_MAX:
        raise DomainError("invite_uses", max=INVITE_USES_MAX)
    invite = Invite(
        code=new_code(), kind=kind, created_by=creator.id, level=level, region_id=region_id,
        district_id=district_id, org_type=org_type, max_uses=max_uses,
        expires_at=(now or utcnow()) + timedelta(days=days) if days else None,
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
    if kind == "join" and invite.created_by is not None:
        # A join link lives as long as its coordinator does.
        owner = await session.get(User, invite.created_by)
        if owner is None or owner.status != "active":
            raise DomainError("invite_unknown")
    return invite


async def _redeem(session: AsyncSession, code: str, kind: str,
                  now: datetime | None = None) -> Invite:
    invite = await check_invite(session, code, kind, now)
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


async def _file_organisation(session: AsyncSession, user: User, reg: Registration) -> None:
    """The picked record, or the typed name's (an existing spelling of it, or a new record,
    created only now: nothing is stored before consent)."""
    place = orgs.place_of(user)
    if place is None or not reg.org_name:
        return
    org = await orgs.live_record(session, reg.organisation_id)
    if org is None or orgs.Place(org.region_id, org.district_id, org.org_type) != place:
        org = await orgs.resolve(session, place, validate_org_name(reg.org_name), user.id)
    orgs.attach(user, org)


async def set_organisation(session: AsyncSession, cache: UserCache, user: User,
                           org_id: int | None, typed: str | None) -> User:
    """/profile: a record picked from the list (`org_id`) or a typed name."""
    if "org_name" not in editable_fields(user):
        raise DomainError("bad_field")
    place = orgs.place_of(user)
    if place is None:
        raise DomainError("bad_value")
    if org_id is not None:
        org = await orgs.pick(session, place, org_id)
    else:
        org = await orgs.resolve(session, place, validate_org_name(typed), user.id)
    orgs.attach(user, org)
    await log_activity(session, "profile_edit", user, extra={"field": "org_name"})
    return user


async def use_join_link(session: AsyncSession, code: str,
                        now: datetime | None = None) -> Invite:
    invite = await check_invite(session, code, "join", now)
    invite.uses += 1
    return invite


PROFILE_FIELDS = ("full_name", "org_name", "faction", "position", "grade", "region_id",
                  "district_id", "org_type")


def editable_fields(user: User) -> tuple[str, ...]:
    """What a person may change about themselves. A coordinator's region and district are
    their scope (set by approval or an invite), so only the centre changes them."""
    if user.role == STUDENT:
        return ("full_name", "org_name", "faction", "position", "grade", "region_id",
                "district_id")
    if user.role == COORDINATOR:
        return ("full_name", "org_name")
    return ("full_name",)


CHOICES = {"org_type": ORG_TYPES, "faction": FACTIONS, "position": POSITIONS}


async def _validated(session: AsyncSession, user: User, field: str, value: Any) -> Any:
    if field == "full_name":
        return validate_full_name(value)
    if field == "org_name":
        return validate_org_name(value)
    if field == "grade":
        return validate_grade(value, user.org_type or "school")
    if field in CHOICES and value not in CHOICES[field]:
        raise DomainError("bad_value")
    if field == "region_id" and not await _region_ok(session, value):
        raise DomainError("bad_value")
    if field == "district_id" and not await _district_ok(session, value, user.region_id):
        raise DomainError("bad_value")
    return value


async def _region_ok(session: AsyncSession, value: Any) -> bool:
    return isinstance(value, int) and await session.get(Region, value) is not None


async def _district_ok(session: AsyncSession, value: Any, region_id: int | None) -> bool:
    district = await session.get(District, value) if isinstance(value, int) else None
    return district is not None and district.active and district.region_id == region_id


async def update_profile(session: AsyncSession, cache: UserCache, user: User,
                         field: str, value: Any, check_role: bool = False) -> User:
    """Change one field after validating it; `check_role` limits it to `editable_fields`."""
    if field not in PROFILE_FIELDS or (check_role and field not in editable_fields(user)):
        raise DomainError("bad_field")
    value = await _validated(session, user, field, value)
    if field == "org_name":
        return await set_organisation(session, cache, user, None, value)
    setattr(user, field, value)
    if field == "region_id":
        user.district_id = None
    await log_activity(session, "profile_edit", user, extra={"field": field})
    if user.tg_id is not None:  # refresh rather than forget: the next update needs no query
        cache.put(user.tg_id, UserInfo.of(user))
    return user


async def change_place(session: AsyncSession, cache: UserCache, user: User, region_id: int,
                       district_id: int) -> User:
    """A move to another region and district: both checked before either is stored."""
    if "region_id" not in editable_fields(user):
        raise DomainError("bad_field")
    if not await _region_ok(session, region_id) or \
            not await _district_ok(session, district_id, region_id):
        raise DomainError("bad_value")
    await update_profile(session, cache, user, "region_id", region_id, check_role=True)
    await update_profile(session, cache, user, "district_id", district_id, check_role=True)
    if user.org_name:  # the organisation is one of the new district's now (same name)
        orgs.attach(user, await orgs.resolve(session, orgs.place_of(user), user.org_name,
                                             user.id))
    return user


async def list_pending_coordinators(session: AsyncSession, limit: int = 20) -> list[User]:
    rows = await session.scalars(select(User).where(
        User.role == COORDINATOR, User.status == "pending").order_by(User.id).limit(limit))
    return list(rows)


async def count_pending_coordinators(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(User).where(
        User.role == COORDINATOR, User.status == "pending")) or 0


async def promotable(session: AsyncSession, tg_id: int) -> User:
    """The registered user /promote would make staff (asked to confirm before it happens)."""
    user = await session.scalar(select(User).where(User.tg_id == tg_id))
    if user is None or user.status == "erased":
        raise DomainError("user_unknown", tg_id=tg_id)
    if user.role == STAFF:
        raise DomainError("already_staff")
    if user.limited:  # staff see everyone's data: not before a guardian's confirmation
        raise DomainError("person_guardian", name=people.name_of(user))
    return user


async def promote_to_staff(session: AsyncSession, cache: UserCache, staff: User,
                           tg_id: int) -> User:
    user = await promotable(session, tg_id)
    previous = user.role
    user.role, user.status, user.coordinator_level = STAFF, "active", None
    user.staff_revoked_at = None  # an earlier /demote no longer holds
    await log_activity(session, "promote_staff", staff, ref_type="user", ref_id=user.id,
                       extra={"from": previous})
    cache.forget(tg_id)
    return user


async def set_locale(session: AsyncSession, cache: UserCache, user: UserInfo,
                     locale: str) -> None:
    """One UPDATE and a cache refresh: the hottest write path (see bench/bench_core.py)."""
    await session.execute(update(User).where(User.id == user.id).values(locale=locale))
    if user.tg_id is not None:
        cache.put(user.tg_id, replace(user, locale=locale))
