"""Who is staff: the database decides; STAFF_IDS only bootstraps.

A person is staff when their row says `role = "staff"`. At start, every registered id in
STAFF_IDS becomes staff unless a staff member revoked it with /demote (`staff_revoked_at`;
/promote clears it): STAFF_IDS names the first staff of a new deployment, it does not
override the database. Removing an id from STAFF_IDS therefore revokes nothing; the start
logs a WARNING listing the staff the database has beyond STAFF_IDS, so an operator who
meant to revoke sees it and uses /demote. The last active staff member cannot be demoted:
nobody would be left to /promote, approve coordinators or run the centre's work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.users import STAFF, STUDENT, UserCache
from db.models import User, WaContact

logger = logging.getLogger(__name__)


@dataclass
class Bootstrap:
    """What the start found; tg ids, sorted."""

    promoted: list[int] = field(default_factory=list)  # registered, in STAFF_IDS: now staff
    revoked: list[int] = field(default_factory=list)  # in STAFF_IDS, but demoted: not staff
    beyond: list[int] = field(default_factory=list)  # staff in the database, not in STAFF_IDS


async def whatsapp_staff_ids(session: AsyncSession, staff_whatsapp: frozenset[str],
                             ) -> frozenset[int]:
    """The ids the bot knows STAFF_WHATSAPP's people by (their contact's -id, or the person
    it is linked to), for those who have written to the bot."""
    if not staff_whatsapp:
        return frozenset()
    rows = (await session.execute(
        select(WaContact.id, User.tg_id).outerjoin(User, User.id == WaContact.user_id)
        .where(WaContact.address.in_(staff_whatsapp) | WaContact.wa_id.in_(staff_whatsapp))
    )).all()
    return frozenset(tg_id if tg_id is not None else -contact_id for contact_id, tg_id in rows)


async def listed_staff(session: AsyncSession, staff_ids: frozenset[int],
                       staff_whatsapp: frozenset[str], person_id: int) -> bool:
    """Whether STAFF_IDS or STAFF_WHATSAPP names the person registering now."""
    if person_id in staff_ids:
        return True
    return person_id < 0 and person_id in await whatsapp_staff_ids(session, staff_whatsapp)


async def bootstrap(session: AsyncSession, cache: UserCache, staff_ids: frozenset[int],
                    staff_whatsapp: frozenset[str] = frozenset()) -> Bootstrap:
    """Make the registered STAFF_IDS and STAFF_WHATSAPP staff (never one revoked by /demote)
    and report."""
    report = Bootstrap()
    staff_ids = staff_ids | await whatsapp_staff_ids(session, staff_whatsapp)
    listed = (await session.scalars(select(User).where(
        User.tg_id.in_(staff_ids), User.status != "erased"))).all() if staff_ids else []
    for user in sorted(listed, key=lambda u: u.tg_id or 0):
        if user.staff_revoked_at is not None:
            if user.role != STAFF:
                report.revoked.append(user.tg_id)
            continue
        if user.role == STAFF and user.status == "active":
            continue
        # guarded: two instances starting together promote (and log) once
        result = await session.execute(
            update(User).where(User.id == user.id, User.staff_revoked_at.is_(None),
                               (User.role != STAFF) | (User.status != "active"))
            .values(role=STAFF, status="active", coordinator_level=None)
            .execution_options(synchronize_session=False))
        if result.rowcount:
            await log_activity(session, "promote_staff", None, ref_type="user",
                               ref_id=user.id, extra={"from": user.role, "by": "STAFF_IDS"})
            cache.forget(user.tg_id)
            report.promoted.append(user.tg_id)
    report.beyond = sorted((await session.scalars(select(User.tg_id).where(
        User.role == STAFF, User.status == "active", User.tg_id.is_not(None),
        User.tg_id.not_in(staff_ids) if staff_ids else User.tg_id.is_not(None)))).all())
    return report


def log_bootstrap(report: Bootstrap) -> None:
    """Ids only: enough for the operator to act, nothing more about the people."""
    if report.promoted:
        logger.info("STAFF_IDS made staff: %s", _ids(report.promoted))
    if report.beyond:
        logger.warning("staff in the database but not in STAFF_IDS (they stay staff; /demote "
                       "revokes): %s", _ids(report.beyond))
    if report.revoked:
        logger.warning("in STAFF_IDS but demoted with /demote (not restored; /promote "
                       "restores): %s", _ids(report.revoked))


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids))


async def list_staff(session: AsyncSession) -> list[User]:
    """Everyone who is staff now (the recipients of staff notices)."""
    return list((await session.scalars(select(User).where(
        User.role == STAFF, User.status == "active"))).all())


async def demotable(session: AsyncSession, tg_id: int) -> User:
    """The staff member /demote would demote (asked to confirm before it happens)."""
    user = await session.scalar(select(User).where(User.tg_id == tg_id))
    if user is None or user.status == "erased":
        raise DomainError("user_unknown", tg_id=tg_id)
    if user.role != STAFF:
        raise DomainError("not_staff")
    if await _other_staff(session, user.id) == 0:
        raise DomainError("last_staff")
    return user


async def _other_staff(session: AsyncSession, user_id: int) -> int:
    """Active staff besides this person. Their rows are locked (PostgreSQL) so that two staff
    members demoting each other at once cannot both pass and leave nobody."""
    rows = (await session.scalars(select(User.id).where(
        User.role == STAFF, User.status == "active").with_for_update())).all()
    return sum(1 for uid in rows if uid != user_id)


async def demote(session: AsyncSession, cache: UserCache, actor: Any, tg_id: int,
                 now: datetime) -> User:
    """The person becomes a parliament member (the least a registered person is); STAFF_IDS
    no longer makes them staff at start. Logged with who did it."""
    user = await demotable(session, tg_id)
    other = aliased(User)
    result = await session.execute(
        update(User).where(User.id == user.id, User.role == STAFF)
        .where(select(func.count()).select_from(other).where(
            other.role == STAFF, other.status == "active", other.id != user.id)
            .scalar_subquery() > 0)
        .values(role=STUDENT, status="active", coordinator_level=None, staff_revoked_at=now)
        .execution_options(synchronize_session=False))
    if not result.rowcount:  # demoted meanwhile, or the others went first
        raise DomainError("last_staff")
    await session.refresh(user)
    await log_activity(session, "demote_staff", actor, ref_type="user", ref_id=user.id,
                       extra={"self": getattr(actor, "id", None) == user.id})
    cache.forget(tg_id)
    return user
