"""Organisations as records per district: the list to pick from, the search, a new name's
duplicate check, and staff merging one record into another (issue 17).

A person's, an entry's and a juror's organisation is `organisation_id`; the `org_name`
beside it is the record's name kept for display and exports, so every count and ranking
that groups by (district, org_name) groups by record. A merge rewrites both on every row
(certificates keep the name they printed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from db.base import utcnow
from db.models import Organisation, Submission, User
from db.models.challenges import JuryMember
from db.org_names import org_key, query_words

PAGE_SIZE = 6  # with ◀ ▶ and "Not in the list" a page stays within WhatsApp's 10 rows


@dataclass(frozen=True, slots=True)
class Place:
    """Where a person's organisations are listed: region, district (None for a regional
    coordinator) and type."""

    region_id: int
    district_id: int | None
    org_type: str


def place_of(data: Any) -> Place | None:
    """The place of registration answers or a user row (None before the region is known;
    an old row without a type counts as a school, as its grade does)."""
    get = data.get if isinstance(data, dict) else lambda k: getattr(data, k, None)
    if not get("region_id"):
        return None
    return Place(get("region_id"), get("district_id"), get("org_type") or "school")


def _live(place: Place) -> list[Any]:
    return [Organisation.region_id == place.region_id,
            Organisation.district_id.is_(None) if place.district_id is None
            else Organisation.district_id == place.district_id,
            Organisation.org_type == place.org_type, Organisation.merged_into_id.is_(None)]


async def listed(session: AsyncSession, place: Place, query: str = "") -> list[Organisation]:
    """The place's organisations by name; with `query`, those whose key holds every typed
    word (a district has tens, at most hundreds: filtered here, the same on every database)."""
    rows = sorted((await session.scalars(select(Organisation).where(*_live(place)))).all(),
                  key=natural)
    words = query_words(query)
    if words:
        rows = [o for o in rows if all(w in o.key for w in words)]
    return rows


def natural(org: Organisation) -> tuple[Any, ...]:
    """"№5" before "№45": numbers in a name sort as numbers."""
    parts = re.split(r"(\d+)", org.name.casefold())
    return tuple((int(p), "") if p.isdigit() else (0, p) for p in parts), org.id


def page_of(rows: list[Organisation], page: int) -> tuple[list[Organisation], int, int]:
    """(items, page, pages) of one page of the list."""
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    return rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE], page, pages


async def same_as(session: AsyncSession, place: Place, name: str) -> Organisation | None:
    """The place's record a typed name is a spelling of (same key), if any."""
    key = org_key(name)
    return await session.scalar(select(Organisation).where(
        *_live(place), Organisation.key == key).order_by(Organisation.id).limit(1))


async def live_record(session: AsyncSession, org_id: int | None) -> Organisation | None:
    """The record, following merges (a button pressed before a merge lands on its target)."""
    org = await session.get(Organisation, org_id) if org_id else None
    for _hop in range(10):
        if org is None or org.merged_into_id is None:
            return org
        org = await session.get(Organisation, org.merged_into_id)
    return org


async def pick(session: AsyncSession, place: Place, org_id: int) -> Organisation:
    """A record chosen by button: it must be one of the place's (a forged id is refused)."""
    org = await live_record(session, org_id)
    if org is None or Place(org.region_id, org.district_id, org.org_type) != place:
        raise DomainError("org_unknown")
    return org


async def resolve(session: AsyncSession, place: Place, name: str,
                  created_by: int | None = None) -> Organisation:
    """The record of a typed name (validated: registration.validate_org_name): the existing
    one of the same key, or a new one."""
    found = await same_as(session, place, name)
    if found is not None:
        return found
    org = Organisation(region_id=place.region_id, district_id=place.district_id,
                       org_type=place.org_type, name=name, key=org_key(name),
                       created_by=created_by, created_at=utcnow())
    try:
        # A savepoint: someone typing the same new school at this moment wins the unique
        # index (uq_organisations_live), and only this insert is undone, not the caller's work.
        async with session.begin_nested():
            session.add(org)
            await session.flush()
    except IntegrityError:
        found = await same_as(session, place, name)
        if found is None:  # not the race: some other constraint
            raise
        return found
    return org


def attach(user: User, org: Organisation) -> None:
    """A person joins a record (their org_name becomes its name)."""
    user.organisation_id, user.org_name = org.id, org.name


async def drop_if_unused(session: AsyncSession, org_id: int | None) -> None:
    """/deleteme: a record nobody else is filed under (no person, entry, juror or merged
    duplicate) goes with the person who typed it, whose name may be in it ("Secretschool")."""
    if org_id is None:
        return
    for model, column in ((User, User.organisation_id),
                          (Submission, Submission.organisation_id),
                          (JuryMember, JuryMember.organisation_id),
                          (Organisation, Organisation.merged_into_id)):
        if await session.scalar(select(func.count()).select_from(model).where(
                column == org_id)):
            return
    await session.execute(delete(Organisation).where(Organisation.id == org_id)
                          .execution_options(synchronize_session=False))


# ---------------------------------------------------------------- staff: /orgs

@dataclass(frozen=True, slots=True)
class OrgCount:
    org: Organisation
    members: int


async def with_members(session: AsyncSession, region_id: int, district_id: int | None,
                       query: str = "") -> list[OrgCount]:
    """A district's live organisations of every type with their member counts, largest
    first (staff look for duplicates among them)."""
    district = (Organisation.district_id.is_(None) if district_id is None
                else Organisation.district_id == district_id)
    here = select(Organisation.id).where(Organisation.region_id == region_id, district)
    counts = (select(User.organisation_id, func.count().label("n"))  # this district's only
              .where(User.status != "erased", User.organisation_id.in_(here))
              .group_by(User.organisation_id).subquery())
    rows = (await session.execute(
        select(Organisation, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.organisation_id == Organisation.id)
        .where(Organisation.region_id == region_id, district,
               Organisation.merged_into_id.is_(None)))).all()
    words = query_words(query)
    found = [OrgCount(org, int(n)) for org, n in rows
             if all(w in org.key for w in words)]
    found.sort(key=lambda c: (-c.members, c.org.name.casefold(), c.org.id))
    return found


async def members_of(session: AsyncSession, org_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(User).where(
        User.organisation_id == org_id, User.status != "erased")) or 0


@dataclass(frozen=True, slots=True)
class Merged:
    target: Organisation
    people: int
    entries: int
    jurors: int


async def mergeable(session: AsyncSession, source_id: int,
                    target_id: int) -> tuple[Organisation, Organisation]:
    """Both records live, different, of the same place and type. Read afresh and locked
    (FOR UPDATE on PostgreSQL, in id order; SQLite has one writer): two staff merging A into
    B and B into A at once would otherwise make a loop that hides both from every list."""
    rows = {org.id: org for org in (await session.scalars(
        select(Organisation).where(Organisation.id.in_([source_id, target_id]))
        .order_by(Organisation.id).with_for_update()
        .execution_options(populate_existing=True))).all()}
    source, target = rows.get(source_id), rows.get(target_id)
    if source is None or target is None or source.merged_into_id or target.merged_into_id:
        raise DomainError("org_gone")
    # Of one type too: a person's type decides their grade range and audiences, and a merge
    # must not change it behind their back.
    if source.id == target.id or (source.region_id, source.district_id, source.org_type) != (
            target.region_id, target.district_id, target.org_type):
        raise DomainError("org_merge_place")
    return source, target


async def merge(session: AsyncSession, staff: Any, source_id: int,
                target_id: int) -> Merged:
    """`source` becomes `target`: its people, entries and jurors move (id and name), and
    records merged into it earlier now point at `target`."""
    source, target = await mergeable(session, source_id, target_id)
    moved = {}
    for model in (User, Submission, JuryMember):
        result = await session.execute(
            update(model).where(model.organisation_id == source.id)
            .values(organisation_id=target.id, org_name=target.name)
            .execution_options(synchronize_session=False))
        moved[model] = result.rowcount or 0
    await session.execute(update(Organisation).where(Organisation.merged_into_id == source.id)
                          .values(merged_into_id=target.id))
    source.merged_into_id = target.id
    await log_activity(session, "org_merge", staff, "organisation", target.id,
                       {"from": source.id, "people": moved[User]})
    return Merged(target, moved[User], moved[Submission], moved[JuryMember])
