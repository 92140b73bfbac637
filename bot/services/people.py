"""Finding a person to name for a role: by a part of their name, or by the Telegram id of a
shared contact or typed number (staff rarely know anyone's id)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User

FOUND_MAX = 8  # a longer list is no help: type more of the name


def _spellings(query: str) -> set[str]:
    """As typed, lower-case and capitalised: SQLite's LIKE folds ASCII letters only, and
    names are mostly written capitalised (Айгүл, not айгүл)."""
    q = query.strip()
    return {q, q.lower(), q[:1].upper() + q[1:].lower(), q.title()}


def _escaped(text: str) -> str:
    """LIKE's wildcards typed in a name match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def find_by_name(session: AsyncSession, query: str,
                       limit: int = FOUND_MAX + 1) -> list[User]:
    """Registered people whose name contains `query`, by name; one more than FOUND_MAX
    tells the caller there are too many to list."""
    likes = [User.full_name.ilike(f"%{_escaped(q)}%", escape="\\") for q in _spellings(query)
             if q]
    if not likes:
        return []
    rows = await session.scalars(select(User).where(
        User.status != "erased", User.tg_id.is_not(None), or_(*likes))
        .order_by(User.full_name, User.id).limit(limit))
    return list(rows)
