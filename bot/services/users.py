"""Who is talking: a cached, read-only view of a user, and the role that access rules use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User

GUEST = "guest"
STUDENT = "student"
COORDINATOR = "coordinator"
PENDING = "pending"  # a coordinator waiting for approval
STAFF = "staff"
ROLES = (GUEST, STUDENT, PENDING, COORDINATOR, STAFF)


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    tg_id: int | None
    chat_id: int | None
    locale: str
    role: str
    status: str
    region_id: int | None
    district_id: int | None
    org_type: str | None
    coordinator_level: str | None
    faction: str | None
    position: str | None
    limited: bool = False

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            id=user.id, tg_id=user.tg_id, chat_id=user.chat_id, locale=user.locale,
            role=user.role, status=user.status, region_id=user.region_id,
            district_id=user.district_id, org_type=user.org_type,
            coordinator_level=user.coordinator_level, faction=user.faction,
            position=user.position, limited=bool(user.limited),
        )

    @property
    def access_role(self) -> str:
        if self.role == STAFF:
            return STAFF
        if self.role == COORDINATOR:
            return COORDINATOR if self.status == "active" else PENDING
        return STUDENT


class UserCache:
    """tg_id -> UserInfo. Every write to a user must call `forget` (services do)."""

    def __init__(self, max_size: int = 200_000) -> None:
        self._items: dict[int, UserInfo | None] = {}
        self._max = max_size

    def get(self, tg_id: int) -> UserInfo | bool | None:
        """UserInfo, None (known guest), or False (not cached)."""
        return self._items.get(tg_id, False)

    def put(self, tg_id: int, info: UserInfo | None) -> None:
        if len(self._items) >= self._max:
            self._items.clear()
        self._items[tg_id] = info

    def forget(self, tg_id: int | None) -> None:
        if tg_id is not None:
            self._items.pop(tg_id, None)


_USER_BY_TG = select(User).where(User.tg_id == bindparam("tg_id"))  # built once: hot path


async def get_user(session: AsyncSession, tg_id: int) -> User | None:
    return await session.scalar(_USER_BY_TG, {"tg_id": tg_id})


_INFO_FIELDS = tuple(UserInfo.__dataclass_fields__)
# Only the columns UserInfo holds, without the ORM: this runs on every uncached update.
_INFO_BY_TG = select(*(User.__table__.c[name] for name in _INFO_FIELDS)).where(
    User.__table__.c.tg_id == bindparam("tg_id"))


async def load_user_info(session: AsyncSession, cache: UserCache, tg_id: int) -> UserInfo | None:
    cached = cache.get(tg_id)
    if cached is not False:
        return cached  # type: ignore[return-value]
    row = (await session.execute(_INFO_BY_TG, {"tg_id": tg_id})).first()
    info = None
    if row is not None and row.status != "erased":
        info = UserInfo(**{**row._asdict(), "limited": bool(row.limited)})
    cache.put(tg_id, info)
    return info


def access_role(info: UserInfo | None) -> str:
    """The stored role decides, staff included: STAFF_IDS makes people staff in the database
    at start (bot.services.staff), so /demote takes effect at once and stays."""
    if info is None:
        return GUEST
    return info.access_role


async def set_reachable(session: AsyncSession, tg_id: int, reachable: bool) -> None:
    """The user blocked (or unblocked) the bot: the delivery queue stops (or resumes) trying."""
    from sqlalchemy import update

    await session.execute(update(User).where(User.tg_id == tg_id)
                          .values(blocked_bot=not reachable))
