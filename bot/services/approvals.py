"""Coordinator requests follow the tree: a regional coordinator decides the district
coordinators of her region; centre staff decide any request (and those of regions without
an active regional coordinator land with them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.users import COORDINATOR, STAFF
from db.models import User


def approves(decider: User, request: User) -> bool:
    """May `decider` decide this coordinator's request?"""
    if decider.role == STAFF:
        return True
    return (is_regional(decider) and request.coordinator_level == "district"
            and request.region_id == decider.region_id)


def is_regional(user: User) -> bool:
    return (user.role == COORDINATOR and user.status == "active"
            and user.coordinator_level == "regional" and user.region_id is not None)


def _scope(decider: User) -> list[ColumnElement[bool]]:
    """The pending requests `decider` may decide, as WHERE conditions."""
    where = [User.role == COORDINATOR, User.status == "pending"]
    if decider.role == STAFF:
        return where
    if not is_regional(decider):
        return [*where, User.id.is_(None)]  # nobody's
    return [*where, User.coordinator_level == "district", User.region_id == decider.region_id]


_BY_AREA = (User.region_id, User.district_id)


async def pending_requests(session: AsyncSession, decider: User, limit: int) -> list[User]:
    """Oldest first within each area, areas in the order of the places' ids."""
    rows = await session.scalars(select(User).where(*_scope(decider)).order_by(
        *_BY_AREA, User.consent_at, User.id).limit(limit))
    return list(rows)


@dataclass(frozen=True)
class AreaQueue:
    region_id: int | None
    district_id: int | None
    waiting: int
    since: datetime | None  # the oldest request's time (its consent)


async def queue_by_area(session: AsyncSession, decider: User) -> list[AreaQueue]:
    rows = await session.execute(
        select(*_BY_AREA, func.count(), func.min(User.consent_at)).where(*_scope(decider))
        .group_by(*_BY_AREA).order_by(*_BY_AREA))
    return [AreaQueue(region, district, n, since) for region, district, n, since in rows]


async def regional_approvers(session: AsyncSession, request: User) -> list[User]:
    """Who decides a district coordinator's request besides staff: the active regional
    coordinators of that region (none for a regional coordinator's request)."""
    if request.coordinator_level != "district" or request.region_id is None:
        return []
    rows = await session.scalars(select(User).where(
        User.role == COORDINATOR, User.status == "active",
        User.coordinator_level == "regional", User.region_id == request.region_id,
        User.chat_id.is_not(None)).order_by(User.id))
    return list(rows)
