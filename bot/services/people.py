"""Finding a person to name for a role (a juror, staff): by a part of their name within the
actor's scope, by @username, by a Telegram user or contact shared from Telegram's picker, or
by a typed Telegram id (which still works but is never needed: staff rarely know anyone's).
Which of them may serve is the caller's rule (`refusal` says the common reasons)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from bot.services.users import COORDINATOR, STAFF, username_of
from db.models import User

FOUND_MAX = 8  # a longer list is no help: type more of the name
QUERY_MAX = 60
# @name, or a t.me link to it; Telegram usernames are 5–32 of a-z 0-9 _
USERNAME = re.compile(r"^(?:@|(?:https?://)?t(?:elegram)?\.me/)([A-Za-z][A-Za-z0-9_]{3,31})/?$")


@dataclass(frozen=True)
class Scope:
    """Whom an actor may name: everyone (staff), or the people of a region or district."""

    region_id: int | None = None
    district_id: int | None = None

    def holds(self, user: User) -> bool:
        if self.district_id is not None:
            return user.district_id == self.district_id
        return self.region_id is None or user.region_id == self.region_id


EVERYONE = Scope()


def scope_of(actor: object) -> Scope:
    """Staff name anyone; a coordinator the people of her region (regional) or district."""
    role = getattr(actor, "role", None)
    if role == STAFF:
        return EVERYONE
    if role == COORDINATOR:
        if getattr(actor, "coordinator_level", None) == "district":
            return Scope(getattr(actor, "region_id", None), getattr(actor, "district_id", None))
        return Scope(getattr(actor, "region_id", None))
    return Scope(-1, -1)  # nobody: no other role names people


def _spellings(query: str) -> set[str]:
    """As typed, lower-case and capitalised: SQLite's LIKE folds ASCII letters only, and
    names are mostly written capitalised (Айгүл, not айгүл)."""
    q = query.strip()
    return {q, q.lower(), q[:1].upper() + q[1:].lower(), q.title()}


def _escaped(text: str) -> str:
    """LIKE's wildcards typed in a name match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _in_scope(scope: Scope) -> list:
    if scope.district_id is not None:
        return [User.district_id == scope.district_id]
    return [] if scope.region_id is None else [User.region_id == scope.region_id]


async def find_by_name(session: AsyncSession, query: str, scope: Scope = EVERYONE,
                       limit: int = FOUND_MAX + 1) -> list[User]:
    """Registered people of `scope` whose name contains `query`, by name; one more than
    FOUND_MAX tells the caller there are too many to list."""
    likes = [User.full_name.ilike(f"%{_escaped(q)}%", escape="\\") for q in _spellings(query)
             if q]
    if not likes:
        return []
    rows = await session.scalars(select(User).where(
        User.status != "erased", User.tg_id.is_not(None), or_(*likes), *_in_scope(scope))
        .order_by(User.full_name, User.id).limit(limit))
    return list(rows)


async def by_tg_id(session: AsyncSession, tg_id: int) -> User | None:
    return await session.scalar(select(User).where(User.tg_id == tg_id,
                                                   User.status != "erased"))


async def by_username(session: AsyncSession, name: str) -> User | None:
    return await session.scalar(select(User).where(
        User.username == username_of(name), User.status != "erased").order_by(User.id.desc())
        .limit(1))


@dataclass
class Found:
    """What a typed answer names: `people` (one: that person; several: to choose from), or
    why nobody (`why`: a DomainError code, with its details)."""

    people: list[User]
    why: DomainError | None = None


async def find(session: AsyncSession, text: str, scope: Scope = EVERYONE) -> Found:
    """A typed answer: a Telegram id, an @username (or t.me link), else a part of a name."""
    text = (text or "").strip()
    tg_id = typed_int(text, max_digits=15)
    if tg_id is not None:
        return _one(await by_tg_id(session, tg_id), scope, DomainError("user_unknown",
                                                                       tg_id=tg_id))
    if match := USERNAME.match(text):
        name = match.group(1)
        return _one(await by_username(session, name), scope, DomainError(
            "username_unknown", username=name))
    if text.startswith("@"):
        return Found([], DomainError("username_bad"))
    query = text[:QUERY_MAX]
    found = await find_by_name(session, query, scope)
    if found:
        if len(found) > FOUND_MAX:
            return Found([], DomainError("name_too_many", n=FOUND_MAX, query=query))
        return Found(found)
    if scope != EVERYONE and await find_by_name(session, query, EVERYONE, limit=1):
        return Found([], DomainError("name_outside_scope", query=query))
    return Found([], DomainError("name_unknown", query=query))


async def shared(session: AsyncSession, tg_id: int | None, scope: Scope = EVERYONE) -> Found:
    """A user or contact shared from Telegram (`tg_id` None: a phone-book contact)."""
    if tg_id is None:
        return Found([], DomainError("contact_no_account"))
    return _one(await by_tg_id(session, tg_id), scope, DomainError("shared_unregistered"))


def _one(user: User | None, scope: Scope, unknown: DomainError) -> Found:
    if user is None:
        return Found([], unknown)
    if not scope.holds(user):
        return Found([], DomainError("person_outside_scope", name=name_of(user)))
    return Found([user])


def name_of(user: User) -> str:
    """How a refusal names the person: their name, else their Telegram id."""
    return user.full_name or (str(user.tg_id) if user.tg_id is not None else "—")


def refusal(user: User) -> DomainError | None:
    """Why this person cannot take a role now (a juror's seat): a coordinator waiting for
    approval or refused, a student waiting for a guardian's confirmation."""
    name = name_of(user)
    if user.status == "pending":
        return DomainError("person_pending", name=name)
    if user.status == "rejected":
        return DomainError("person_rejected", name=name)
    if user.limited:
        return DomainError("person_guardian", name=name)
    if user.status != "active":
        return DomainError("person_unregistered", name=name)
    return None
