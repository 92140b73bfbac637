"""The append-only activity log: every meaningful action becomes one row."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import ActivityLog


class Actor(Protocol):
    id: int
    role: str
    region_id: int | None
    district_id: int | None
    org_type: str | None


async def log_activity(
    session: AsyncSession,
    kind: str,
    actor: Actor | None,
    ref_type: str | None = None,
    ref_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    # A plain INSERT, not an ORM object: it runs on the hot paths (every entry logs twice)
    # and nothing reads the row back in the same transaction.
    await session.execute(ACTIVITY_INSERT, activity_row(kind, actor, ref_type, ref_id, extra))


def activity_row(kind: str, actor: Actor | None, ref_type: str | None = None,
                 ref_id: int | None = None, extra: dict[str, Any] | None = None,
                 ) -> dict[str, Any]:
    """The values of ACTIVITY_INSERT, for code that runs its statements itself."""
    return {
        "user_id": actor.id if actor else None,
        "kind": kind,
        "at": utcnow(),
        "role": actor.role if actor else None,
        "region_id": actor.region_id if actor else None,
        "district_id": actor.district_id if actor else None,
        "org_type": actor.org_type if actor else None,
        "ref_type": ref_type,
        "ref_id": ref_id,
        "extra": extra,
    }


ACTIVITY_INSERT = insert(ActivityLog.__table__)
