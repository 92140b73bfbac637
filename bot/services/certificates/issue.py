"""Planning and issuing: registry rows for everyone eligible who has none yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.certificates.base import LOCALES
from bot.services.certificates.eligibility import Eligible, Source, eligible_for
from bot.services.certificates.numbers import make_number
from db.models import (
    Certificate,
    User,
)

# --- planning and issuing --------------------------------------------------------------

def issue_key(source: Source, person: Eligible) -> str:
    key = f"{person.template}:{source.key}:{person.user_id}:{person.slot}"
    if len(key) > 120:  # a long series list: keep the key short but stable
        import hashlib

        digest = hashlib.sha1(source.key.encode()).hexdigest()[:16]
        key = f"{person.template}:series#{digest}:{person.user_id}:{person.slot}"
    return key


@dataclass
class Plan:
    new: list[tuple[Eligible, User]]
    existing: int
    no_name: int
    by_template: dict[str, int]
    # Minors still waiting for a guardian's confirmation: skipped; a later run after the
    # confirmation issues theirs (the issue key is only taken when a certificate is made).
    waiting: int = 0


async def plan_issue(session: AsyncSession, source: Source, now: datetime,
                     tz: ZoneInfo) -> Plan:
    """Who would get a certificate now, without writing anything."""
    people = await eligible_for(session, source, now, tz)
    users: dict[int, User] = {}
    ids = sorted({p.user_id for p in people})
    for start in range(0, len(ids), 500):
        chunk_ids = ids[start:start + 500]
        for user in await session.scalars(select(User).where(User.id.in_(chunk_ids))):
            users[user.id] = user
    keys = [issue_key(source, p) for p in people]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        existing |= set(await session.scalars(
            select(Certificate.issue_key).where(Certificate.issue_key.in_(chunk))))
    plan = Plan([], 0, 0, {})
    for person, key in zip(people, keys, strict=True):
        user = users.get(person.user_id)
        if key in existing:
            plan.existing += 1
        elif user is None or user.status in ("erased", "rejected"):
            continue
        elif user.limited:
            plan.waiting += 1
        elif not (user.full_name or "").strip():
            plan.no_name += 1
        else:
            plan.new.append((person, user))
            plan.by_template[person.template] = plan.by_template.get(person.template, 0) + 1
    return plan


@dataclass
class IssueResult:
    new: int
    existing: int
    no_name: int


async def issue(session: AsyncSession, source: Source, actor: Any, now: datetime,
                tz: ZoneInfo) -> IssueResult:
    """Add a registry row for everyone eligible who has none yet (safe to run again)."""
    plan = await plan_issue(session, source, now, tz)
    rows = []
    for person, user in plan.new:
        rows.append(Certificate(
            issue_key=issue_key(source, person), template=person.template,
            source_type=source.kind, source_id=source.id, user_id=user.id,
            full_name=" ".join((user.full_name or "").split()),
            org_name=user.org_name, region_id=user.region_id,
            locale=user.locale if user.locale in LOCALES else "kk",
            details=person.details, issued_at=now, issued_by=getattr(actor, "id", None)))
    session.add_all(rows)
    await session.flush()
    year = now.astimezone(tz).year
    for row in rows:
        row.number = make_number(row.template, year)
    await session.flush()
    if rows:
        await log_activity(session, "certificates_issued", actor, source.kind, source.id,
                           {"new": len(rows), "existing": plan.existing,
                            "by_template": plan.by_template})
    return IssueResult(len(rows), plan.existing, plan.no_name)
