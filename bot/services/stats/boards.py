"""Leaderboards of organisations, districts, regions and factions, and their cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, case, cast, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.numbers import as_int, check_digits
from bot.services.stats.counts import covered, undone_wins
from bot.services.stats.periods import Period, Scope, parse_period
from db.base import utcnow
from db.models import ActivityLog, User

# ---------------------------------------------------------------- leaderboard

POINTS = {"challenge_join": 1, "submission": 2, "submission_approved": 3, "winner": 10,
          "webinar_attend": 1}
BOARDS = ("orgs", "districts", "regions", "factions")


@dataclass
class BoardRow:
    key: tuple[Any, ...]
    points: int


@dataclass
class Leaderboard:
    boards: dict[str, list[BoardRow]]


BOARD_KEYS = {"orgs": ("region_id", "district_id", "org_name"), "districts": ("district_id",),
              "regions": ("region_id",), "factions": ("faction",)}
_KEY_TYPES = {"region_id": Integer, "district_id": Integer, "org_name": String,
              "faction": String}


async def leaderboard(session: AsyncSession, scope: Scope, period: Period | None = None,
                      challenge_id: int | None = None,
                      boards: Iterable[str] = BOARDS) -> Leaderboard:
    """Rankings by points (see POINTS); ties ordered by key for a stable order.

    The log row's user is the participant (also for approvals and wins, which the reviewer
    causes); points go to the participant's current place, organisation and faction.

    The database adds up the points, per person and then per ranking, in one statement:
    done here in Python, the ~100,000 people of a year took a second of the event loop."""
    a = ActivityLog
    boards = tuple(boards)
    points = case(*[(a.kind == k, v) for k, v in POINTS.items()], else_=0)
    conds = [a.kind.in_(POINTS), a.user_id.is_not(None)]
    if period is not None:
        conds += [a.at >= period.start, a.at < period.end]
    if challenge_id is not None:
        conds += [a.kind != "webinar_attend", a.ref_id == challenge_id]
    undone: dict[int, int] = {}  # a cleared place earns no winner points
    for win in await undone_wins(session, *conds):
        undone[win.user_id] = undone.get(win.user_id, 0) + POINTS["winner"]
    per_user = covered(select(a.user_id.label("uid"), func.sum(points).label("pts"))
                       .where(*conds).group_by(a.user_id), "ix_activity_kind_scope").subquery()
    less = case(*[(per_user.c.uid == uid, minus) for uid, minus in undone.items()],
                else_=0) if undone else literal(0)
    scored = (select(per_user.c.uid, (per_user.c.pts - less).label("pts"), User.region_id,
                     User.district_id, User.org_name, User.faction)
              .join(User, User.id == per_user.c.uid)
              .where(*scope.filters(User.region_id, User.district_id))
              .cte("scored").prefix_with("MATERIALIZED"))
    rows = await session.execute(union_all(*(_board_totals(scored, board) for board in boards)))
    result: dict[str, list[BoardRow]] = {board: [] for board in boards}
    for row in rows:
        result[row.board].append(BoardRow(tuple(row._mapping[k] for k in BOARD_KEYS[row.board]),
                                          int(row.points)))
    for ranked in result.values():
        ranked.sort(key=lambda r: (-r.points, tuple(str(v) for v in r.key)))
    return Leaderboard(result)


def _board_totals(scored: Any, board: str) -> Any:
    """One ranking's rows: (board, the four key columns, NULL where not this board's, points),
    counting people with points and a complete key."""
    keys = BOARD_KEYS[board]
    columns = [scored.c[k] if k in keys else cast(null(), _KEY_TYPES[k]).label(k)
               for k in _KEY_TYPES]
    return (select(literal(board).label("board"), *columns,
                   func.sum(scored.c.pts).label("points"))
            .where(scored.c.pts != 0, *[scored.c[k].is_not(None) for k in keys])
            .group_by(*[scored.c[k] for k in keys]))


BOARD_CACHE_TTL = timedelta(minutes=5)


class BoardCache:
    """Rankings kept for BOARD_CACHE_TTL, per key (period and challenge; the scope is the
    whole country, from which a district's ranking is cut, see `district_rows`).

    Every student may ask, and each ranking is an aggregate over the whole activity log
    (seconds at a million rows): computed per request, a few students could keep the
    database busy without end. Several asking at the same moment wait for one computation.
    """

    def __init__(self, ttl: timedelta = BOARD_CACHE_TTL,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.ttl, self.clock = ttl, clock
        self._kept: dict[Hashable, tuple[datetime, Leaderboard]] = {}
        self._pending: dict[Hashable, asyncio.Future[Leaderboard]] = {}

    def clear(self) -> None:
        """Forget the kept rankings (after a merge of organisations changed their rows)."""
        self._kept.clear()

    async def get(self, key: Hashable,
                  compute: Callable[[], Awaitable[Leaderboard]]) -> Leaderboard:
        while True:
            kept = self._kept.get(key)
            if kept is not None and kept[0] > self.clock():
                return kept[1]
            pending = self._pending.get(key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled, not the computation
                # the computation failed or its caller went away: try it here
        return await self._compute(key, compute)

    async def _compute(self, key: Hashable,
                       compute: Callable[[], Awaitable[Leaderboard]]) -> Leaderboard:
        future: asyncio.Future[Leaderboard] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await compute()
        except BaseException:
            future.cancel()  # those waiting compute it themselves
            raise
        finally:
            del self._pending[key]
        now = self.clock()
        self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
        self._kept[key] = (now + self.ttl, value)
        future.set_result(value)
        return value


def district_rows(country: list[BoardRow], district_id: int) -> list[BoardRow]:
    """The organisations board of one district, cut from the country's: an organisation's
    key holds its district, so this equals `leaderboard` with that district's scope."""
    return [row for row in country if row.key[1] == district_id]


def place_of(rows: list[BoardRow], key: tuple[Any, ...]) -> tuple[int, int] | None:
    """(place, points) with equal points sharing a place ("competition ranking")."""
    for i, row in enumerate(rows):
        if row.key == key:
            place = 1 + sum(1 for r in rows[:i] if r.points > row.points)
            return place, row.points
    return None


def org_key(user: Any) -> tuple[Any, ...] | None:
    """An organisation is its region, district and name as registered."""
    name = getattr(user, "org_name", None)
    return (user.region_id, user.district_id, name) if name else None


# ---------------------------------------------------------------- what /leaderboard asks for

STUDENT_PERIODS = ("week", "month", "year")  # the rankings students get, kept a while


def student_may_ask(arg: str | None) -> bool:
    """A week, month or year, or one challenge: rankings that are kept for everyone (any
    other period would be one more full count of the log per request)."""
    words = (arg or "").lower().split()
    if len(words) == 1:  # a period, or a challenge's number (a year has four digits)
        return words[0] in STUDENT_PERIODS or as_int(words[0], max_digits=3) is not None
    return not words or (len(words) == 2 and words[0] == "challenge")


def _board_arg(arg: str | None, now: datetime, tz: ZoneInfo,
               ) -> tuple[Period | None, int | None]:
    words = (arg or "").split()
    if words and words[0].lower() == "challenge" and len(words) == 2:
        challenge_id = as_int(words[1], max_digits=9)
        if challenge_id is None:
            raise DomainError("stats_period")
        return None, challenge_id
    if len(words) == 1 and (challenge_id := as_int(words[0], max_digits=3)) is not None:
        return None, challenge_id
    return parse_period(arg, now, tz, default="year"), None


def board_request(arg: str | None, role: str, now: datetime,
                  tz: ZoneInfo) -> tuple[Period | None, int | None]:
    """(period, challenge id) of `/leaderboard <arg>`. The period error names /leaderboard's
    own forms, not /stats's (which students do not have)."""
    try:
        check_digits(arg)  # "٢٠٢٦": the digits answer, for students too
        if role == "student" and not student_may_ask(arg):
            raise DomainError("board_period_student")
        return _board_arg(arg, now, tz)
    except DomainError as exc:
        if exc.code != "stats_period":
            raise
        code = "board_period_student" if role == "student" else "board_period"
        raise DomainError(code, **exc.details) from exc
