"""Who is talking: a cached, read-only view of a user, and the role that access rules use."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, select, update
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
    username: str | None = None  # Telegram's, lower-case (compared on every update)

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            id=user.id, tg_id=user.tg_id, chat_id=user.chat_id, locale=user.locale,
            role=user.role, status=user.status, region_id=user.region_id,
            district_id=user.district_id, org_type=user.org_type,
            coordinator_level=user.coordinator_level, faction=user.faction,
            position=user.position, limited=bool(user.limited), username=user.username,
        )

    @property
    def access_role(self) -> str:
        if self.role == STAFF:
            return STAFF
        if self.role == COORDINATOR:
            return COORDINATOR if self.status == "active" else PENDING
        return STUDENT


class UserCache:
    """tg_id -> UserInfo. Every write to a user must call `forget`, or `put` with the new value
    (services do); `remember` is for what was just read.

    With one process (SQLite) that is all. With several, the others must drop their copy too:
    a write is announced through `on_change` (bot.user_changes sends it to every instance
    through Redis), and an entry lives at most `ttl` seconds (None: for ever), which bounds a
    copy no announcement reached.
    """

    def __init__(self, max_size: int = 200_000, ttl: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[int, tuple[UserInfo | None, float]] = {}
        self._max = max_size
        self.ttl, self.clock = ttl, clock
        self.on_change: Callable[[int], None] | None = None
        self.version = 0  # moves on every drop: a read begun before it is not kept

    def get(self, tg_id: int) -> UserInfo | bool | None:
        """UserInfo, None (known guest), or False (not cached, or kept too long)."""
        item = self._items.get(tg_id)
        if item is None:
            return False
        info, expires = item
        if expires != FOREVER and self.clock() >= expires:
            del self._items[tg_id]
            return False
        return info

    def remember(self, tg_id: int, info: UserInfo | None, version: int | None = None) -> None:
        """What the database said (a read begun at `version`): kept for `ttl` seconds, unless
        a change was announced while it was read."""
        if version is not None and version != self.version:
            return
        if len(self._items) >= self._max:
            self._items.clear()
        self._items[tg_id] = (info, FOREVER if self.ttl is None else self.clock() + self.ttl)

    def put(self, tg_id: int, info: UserInfo | None) -> None:
        """A write's new value: kept here, dropped by every other instance."""
        self.remember(tg_id, info)
        self._announce(tg_id)

    def forget(self, tg_id: int | None) -> None:
        """A write: the next update of this user, on any instance, reads the database."""
        if tg_id is not None:
            self.drop(tg_id)
            self._announce(tg_id)

    def drop(self, tg_id: int) -> None:
        """Drop this process's copy only (another instance announced a change)."""
        self.version += 1
        self._items.pop(tg_id, None)

    def clear(self) -> None:
        self.version += 1
        self._items.clear()

    def _announce(self, tg_id: int) -> None:
        if self.on_change is not None:
            self.on_change(tg_id)


FOREVER = float("inf")


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
    version = cache.version
    row = (await session.execute(_INFO_BY_TG, {"tg_id": tg_id})).first()
    info = None
    if row is not None and row.status != "erased":
        info = UserInfo(**{**row._asdict(), "limited": bool(row.limited)})
    cache.remember(tg_id, info, version)
    return info


def access_role(info: UserInfo | None) -> str:
    """The stored role decides, staff included: STAFF_IDS makes people staff in the database
    at start (bot.services.staff), so /demote takes effect at once and stays."""
    if info is None:
        return GUEST
    return info.access_role


async def set_reachable(session: AsyncSession, tg_id: int, reachable: bool) -> None:
    """The user blocked (or unblocked) the bot: the delivery queue stops (or resumes) trying.
    Only where their news goes: someone linked to WhatsApp (/link) who gets news there and
    blocks the Telegram bot is still reached on WhatsApp."""
    await session.execute(update(User).where(User.tg_id == tg_id, User.chat_id == tg_id)
                          .values(blocked_bot=not reachable))


USERNAME_MAX = 32  # Telegram allows 5–32 characters


def username_of(raw: str | None) -> str | None:
    """A Telegram @username as stored: lower-case (Telegram ignores case), no "@"."""
    name = (raw or "").strip().lstrip("@").lower()
    return name[:USERNAME_MAX] or None


async def claim_username(session: AsyncSession, tg_id: int, name: str | None) -> None:
    """This person has `name` now: stored on their row and taken from any row that still
    held it (a username moves between accounts; the old holder has not written since)."""
    if name:
        await session.execute(update(User).where(User.username == name, User.tg_id != tg_id)
                              .values(username=None).execution_options(
                                  synchronize_session=False))
    await session.execute(update(User).where(User.tg_id == tg_id).values(username=name)
                          .execution_options(synchronize_session=False))


async def keep_username(session: AsyncSession, cache: UserCache, info: UserInfo,
                        raw: str | None) -> UserInfo:
    """Called on every update of a registered person: writes only when the username changed
    (the cached copy holds the last one), so the usual update costs a comparison. The cached
    copy is dropped, not replaced: should this update fail and roll back, the next one reads
    the old name from the database and writes again."""
    name = username_of(raw)
    if name == info.username or info.tg_id is None:
        return info
    await claim_username(session, info.tg_id, name)
    cache.forget(info.tg_id)
    return replace(info, username=name)
