"""Who a message or an offer is for: one `Audience` type for every feature.

An audience is a set of conditions on a person: roles, organisation types, factions,
positions and regions (an empty set: no condition), or a `source`, people another record
names (a challenge's participants, a webinar's registrants: the PROVIDERS below). Features
store it in their own form, and read and write it here:

- broadcasts: a string (`Audience.parse` / `key`): `all`, `students`, `coordinators`,
  `org:<type>`, `faction:<key>` and `position:<key>` (both students only), or
  `<provider>[:<key>]`;
- challenges and webinars: JSON (`from_json` / `to_json`), `{"org_types": [...],
  "region_ids": [...]}`; a webinar's older key `regions` reads as `region_ids`.

`conditions()` selects the audience in SQL (inside a Scope, the area an author may address,
when one is given): whom to tell. `admits()` decides for one person in memory: who may see
and join. They agree, except that staff are always admitted (they see everything) while
they are told only what the conditions take them in for. A feature's own policy stays with
it (e.g. a challenge's coordinators follow their region only; the queue takes only active
people).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.registration import FACTIONS, ORG_TYPES, POSITIONS
from bot.services.users import COORDINATOR, STAFF, STUDENT
from db.models import User
from db.models.challenges import Challenge, ChallengeParticipant
from db.models.webinars import Webinar, WebinarRegistration

ROLES = (STUDENT, COORDINATOR, STAFF)
RESERVED = frozenset({"all", "students", "coordinators", "org", "faction", "position"})


def N_(msgid: str) -> str:
    """Marks a message id that is translated where it is shown (a handler's `_()`)."""
    return msgid


@dataclass(frozen=True, slots=True)
class Scope:
    """The area a person may address: nothing set = the whole country."""

    region_id: int | None = None
    district_id: int | None = None

    def contains(self, region_id: int | None, district_id: int | None) -> bool:
        if self.region_id is not None and region_id != self.region_id:
            return False
        return self.district_id is None or district_id == self.district_id

    def where(self) -> list[Any]:
        conds = []
        if self.region_id is not None:
            conds.append(User.region_id == self.region_id)
        if self.district_id is not None:
            conds.append(User.district_id == self.district_id)
        return conds


class Member(Protocol):
    """What `Audience.admits` reads of a person (a User row or a cached UserInfo)."""

    role: str
    region_id: int | None
    org_type: str | None
    faction: str | None
    position: str | None


class Dimension(NamedTuple):
    name: str  # the Audience attribute, and its key in stored JSON
    person: str  # the person's attribute (Member) and User column it is compared with
    vocabulary: tuple[Any, ...] | None  # the known values in their order (None: region ids)


DIMENSIONS = (
    Dimension("roles", "role", ROLES),
    Dimension("org_types", "org_type", ORG_TYPES),
    Dimension("factions", "faction", FACTIONS),
    Dimension("positions", "position", POSITIONS),
    Dimension("region_ids", "region_id", None),
)


@dataclass(frozen=True)
class Audience:
    roles: frozenset[str] = frozenset()
    org_types: frozenset[str] = frozenset()
    factions: frozenset[str] = frozenset()
    positions: frozenset[str] = frozenset()
    region_ids: frozenset[int] = frozenset()
    source: tuple[str, str] | None = None  # (provider name, its key or "")

    def __post_init__(self) -> None:
        for dim in DIMENSIONS:  # any iterable in, a frozenset kept
            object.__setattr__(self, dim.name, frozenset(getattr(self, dim.name)))

    # -- broadcasts: strings
    @classmethod
    def parse(cls, text: str) -> Audience:
        """A broadcast's audience string; DomainError("bc_bad_audience") if it is none."""
        kind, _, value = text.partition(":")
        if not value and kind in ("all", "students", "coordinators"):
            return cls(roles={"all": (), "students": (STUDENT,),
                              "coordinators": (COORDINATOR,)}[kind])
        if kind == "org" and value in ORG_TYPES:
            return cls(org_types={value})
        if kind == "faction" and value in FACTIONS:
            return cls(roles={STUDENT}, factions={value})
        if kind == "position" and value in POSITIONS:
            return cls(roles={STUDENT}, positions={value})
        provider = PROVIDERS.get(kind)
        if provider is not None and bool(value) == provider.takes_key:
            return cls(source=(kind, value))
        raise DomainError("bc_bad_audience")

    def key(self) -> str:
        """The string `parse` reads back; ValueError for an audience no string names."""
        if self.source is not None:
            name, value = self.source
            return f"{name}:{value}" if value else name
        for text in _broadcast_forms(self):
            if Audience.parse(text) == self:
                return text
        raise ValueError(f"no broadcast audience string for {self}")

    # -- challenges and webinars: JSON
    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Audience:
        """Stored JSON (unknown keys and empty lists ignored; `regions` = `region_ids`)."""
        data = data or {}
        values = {dim.name: data.get(dim.name) or () for dim in DIMENSIONS}
        values["region_ids"] = [*values["region_ids"], *(data.get("regions") or ())]
        return cls(**values)

    def to_json(self) -> dict[str, list[Any]]:
        """Canonical keys, each list in the vocabulary's order (regions by id), empty dropped."""
        return {dim.name: [v for v in dim.vocabulary if v in values] if dim.vocabulary
                else sorted(values) for dim, values in self._given()}

    # -- who is in it
    def admits(self, user: Member) -> bool:
        """Whether this person is in the audience (staff always are). An audience of a
        provider's people is decided by the database only (see `conditions`)."""
        if self.source is not None:
            raise ValueError("a provider's audience is selected in SQL: use conditions()")
        if getattr(user, "role", None) == STAFF:
            return True
        return all(getattr(user, dim.person, None) in values for dim, values in self._given())

    async def conditions(self, session: AsyncSession,
                         scope: Scope | None = None) -> list[ColumnElement[bool]]:
        """SQL conditions on User selecting the audience (inside `scope`, when given)."""
        conds: list[ColumnElement[bool]] = scope.where() if scope is not None else []
        for dim, values in self._given():
            column = getattr(User, dim.person)
            conds.append(column == next(iter(values)) if len(values) == 1
                         else column.in_(sorted(values)))
        if self.source is not None:
            name, value = self.source
            members = await PROVIDERS[name].members_of(session, scope or Scope(), value)
            conds.append(User.id.in_(members))
        return conds

    def _given(self) -> list[tuple[Dimension, frozenset[Any]]]:
        """The dimensions that set a condition, with their values."""
        return [(dim, values) for dim in DIMENSIONS if (values := getattr(self, dim.name))]


def _broadcast_forms(audience: Audience) -> Iterable[str]:
    """The broadcast strings this audience could be (parse decides which one it is)."""
    yield from ("all", "students", "coordinators")
    for prefix, values in (("org", audience.org_types), ("faction", audience.factions),
                           ("position", audience.positions)):
        if len(values) == 1:
            yield f"{prefix}:{next(iter(values))}"


# --- audiences other records name ----------------------------------------------------------
MembersFn = Callable[..., Awaitable[Select[Any]]]
OptionsFn = Callable[..., Awaitable[list[tuple[str, str]]]]


@dataclass(frozen=True)
class AudienceProvider:
    name: str
    label: str  # a msgid (N_), shown on the audience button in the author's language
    members: MembersFn  # (session, scope[, key]) -> select of User.id
    options: OptionsFn | None = None  # (session, scope[, locale]) -> [(key, title)]

    @property
    def takes_key(self) -> bool:
        """Whether its audience names one of `options` (a webinar) or stands alone."""
        return self.options is not None

    async def members_of(self, session: AsyncSession, scope: Scope, key: str) -> Select[Any]:
        if _takes(self.members, 3):
            return await self.members(session, scope, key)
        return await self.members(session, scope)

    async def choices(self, session: AsyncSession, scope: Scope,
                      locale: str) -> list[tuple[str, str]]:
        """[(key, title)] to choose from, titles in `locale` where the provider has them."""
        if self.options is None:
            return []
        if _takes(self.options, 3):
            return await self.options(session, scope, locale)
        return await self.options(session, scope)


def _takes(fn: Callable[..., Any], n: int) -> bool:
    return len(inspect.signature(fn).parameters) >= n


async def _webinar_registrants(session: AsyncSession, scope: Scope, key: str) -> Select[Any]:
    return select(WebinarRegistration.user_id).where(
        WebinarRegistration.webinar_id == (as_int(key) or 0),
        WebinarRegistration.status == "registered")


async def _recent_webinars(session: AsyncSession, scope: Scope,
                           locale: str = "kk") -> list[tuple[str, str]]:
    """The latest ten published webinars by start time, newest first."""
    rows = await session.scalars(select(Webinar).where(Webinar.status == "published")
                                 .order_by(Webinar.starts_at.desc(), Webinar.id.desc())
                                 .limit(10))
    return [(str(w.id), f"№{w.id} · {w.text('title', locale)}"[:60]) for w in rows]


async def _challenge_participants(session: AsyncSession, scope: Scope,
                                  key: str) -> Select[Any]:
    return select(ChallengeParticipant.user_id).where(
        ChallengeParticipant.challenge_id == (as_int(key) or 0))


async def _recent_challenges(session: AsyncSession, scope: Scope,
                             locale: str = "kk") -> list[tuple[str, str]]:
    """The latest twenty challenges past their draft, newest first."""
    rows = await session.scalars(select(Challenge).where(Challenge.status != "draft")
                                 .order_by(Challenge.id.desc()).limit(20))
    return [(str(c.id), f"№{c.id} · {c.text('title', locale)}"[:60]) for c in rows]


# Broadcasts can address these (always limited to the author's scope), in this order.
PROVIDERS: dict[str, AudienceProvider] = {
    "wreg": AudienceProvider("wreg", N_("Registrants of a webinar"), _webinar_registrants,
                             _recent_webinars),
    "chp": AudienceProvider("chp", N_("Participants of a challenge"), _challenge_participants,
                            _recent_challenges),
}


def register_audience(name: str, label: str, members: MembersFn,
                      options: OptionsFn | None = None) -> None:
    """Let another feature offer an audience.

    `members(session, scope)` (or `members(session, scope, key)` when `options` lists
    choices such as webinars) returns a `select(User.id)`; the result is still limited to
    the author's scope by `Audience.conditions`, so a provider cannot leak people outside it.
    """
    if name in RESERVED:
        raise ValueError(f"audience name {name!r} is reserved")
    PROVIDERS[name] = AudienceProvider(name, label, members, options)


__all__ = ["PROVIDERS", "Audience", "AudienceProvider", "Member", "Scope", "register_audience"]
