"""Statistics: periods in Asia/Almaty, scopes, counts from the activity log and entity tables.

Definitions (also in the README, "Statistics"):
- every count is of activity_log rows whose `at` lies in [start, end) of the period, the
  period's days running from 00:00 to 24:00 Asia/Almaty;
- a row belongs to the region/district stored on it (the actor's place at that moment), so
  erased users still count, anonymously;
- active user: anyone with at least one logged action in the period;
- winners: `winner` rows, less those cancelled by a later `winner_cleared` of the same entry
  (`undone_wins`); a changed place is logged as `winner_changed` and is not a second win;
- coordinators by level: active coordinators registered before the period's end (a snapshot);
- webinars held: not cancelled webinars that started in the period and before now (one later
  this week is not held yet; country-wide); speakers: the distinct speaker names of those;
- broadcasts: "broadcast_sent" rows; delivered/blocked: broadcast deliveries finished in the
  period with status sent/blocked (scoped by the recipient's place).

No aiogram here: texts are built with a translator callable `tr(msgid) -> str`.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, case, cast, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.numbers import as_int, check_digits
from db.base import utcnow
from db.models import ActivityLog, Delivery, User

logger = logging.getLogger(__name__)
Translate = Callable[[str], str]
MAX_PERIOD_DAYS = 366 * 3
TREND_WEEKS = 12


def _(msgid: str) -> str:
    """Marks a message id for extraction; it is translated when rendered (`tr`)."""
    return msgid


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Whole local days [first_day, last_day]; `start`/`end` are the UTC instants (end excl.)."""

    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(),
                                self.tz).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first_day - timedelta(days=self.days),
                      self.first_day - timedelta(days=1), self.tz)

    def label(self) -> str:
        return f"{self.first_day:%d.%m.%Y} – {self.last_day:%d.%m.%Y}"


def week_of(day: date, tz: ZoneInfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), tz)


def parse_period(arg: str | None, now: datetime, tz: ZoneInfo,
                 default: str = "week") -> Period:
    """'week' | 'month' | 'year' | 'YYYY' | 'YYYY-MM-DD YYYY-MM-DD' (both days included)."""
    check_digits(arg)  # "٢٠٢٦" is no year here (fromisoformat and \d would read it)
    today = now.astimezone(tz).date()
    words = (arg or default).strip().lower().split()
    if len(words) == 1 and words[0] in ("week", "month", "year"):
        kind = words[0]
        if kind == "week":
            return week_of(today, tz)
        if kind == "month":
            first = today.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            return Period(first, nxt - timedelta(days=1), tz)
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), tz)
    if len(words) == 1 and (year := as_int(words[0], max_digits=4)) is not None:
        if not 2000 <= year <= 2100:
            raise DomainError("stats_period")
        return Period(date(year, 1, 1), date(year, 12, 31), tz)
    if len(words) == 2:
        try:
            first, last = (date.fromisoformat(w) for w in words)
        except ValueError:
            raise DomainError("stats_period") from None
        if last < first:
            raise DomainError("stats_dates_order")
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise DomainError("stats_period_long", days=MAX_PERIOD_DAYS)
        return Period(first, last, tz)
    raise DomainError("stats_period")


# ---------------------------------------------------------------- scopes


@dataclass(frozen=True)
class Scope:
    """Whole country (staff), one region (regional coordinator) or one district."""

    region_id: int | None = None
    district_id: int | None = None

    @property
    def is_country(self) -> bool:
        return self.region_id is None and self.district_id is None

    @property
    def area(self) -> str:
        """What the by-area table lists: regions for the country, districts otherwise."""
        return "region" if self.is_country else "district"

    def filters(self, region_col: Any, district_col: Any) -> list[Any]:
        out = []
        if self.district_id is not None:
            out.append(district_col == self.district_id)
        elif self.region_id is not None:
            out.append(region_col == self.region_id)
        return out


def scope_of(role: str, user: Any) -> Scope:
    """The scope a user may see: staff everything, coordinators their region or district.

    `role` is the access role (staff ids from the settings count as staff)."""
    if role == "staff":
        return Scope()
    if role == "coordinator" and user is not None and user.status == "active":
        if user.coordinator_level == "district" and user.district_id:
            return Scope(user.region_id, user.district_id)
        if user.region_id:
            return Scope(user.region_id)
    raise DomainError("stats_scope")


# ---------------------------------------------------------------- metrics

# (key, label) in display order, grouped by section.
SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (_("Registrations"), [
        ("reg_student", _("Parliament members")),
        ("reg_coordinator", _("Coordinators")),
        ("reg_staff", _("Centre staff members")),
        ("active", _("Active users")),
    ]),
    (_("Coordinators by level"), [
        ("coord_regional", _("Regional level")),
        ("coord_district", _("District (city) level")),
    ]),
    (_("Challenges"), [
        ("joins", _("Joined")),
        ("submissions", _("Entries submitted")),
        ("approved", _("Entries approved")),
        ("rejected", _("Entries rejected")),
        ("withdrawn", _("Entries withdrawn")),
        ("winners", _("Winners")),
    ]),
    (_("Webinars"), [
        ("webinars_held", _("Webinars held")),
        ("webinar_regs", _("Registrations for webinars")),
        ("attendance", _("Attendance")),
        ("speakers", _("Speakers")),
    ]),
    (_("Broadcasts"), [
        ("broadcasts", _("Broadcasts sent")),
        ("delivered", _("Messages delivered")),
        ("blocked", _("Blocked the bot")),
    ]),
]
METRIC_KEYS = [key for _title, rows in SECTIONS for key, _label in rows]
METRIC_LABELS = {key: label for _title, rows in SECTIONS for key, label in rows}

KIND_METRIC = {
    "challenge_join": "joins",
    "submission": "submissions",
    "submission_approved": "approved",
    "submission_rejected": "rejected",
    "submission_withdrawn": "withdrawn",
    "winner": "winners",
    "webinar_register": "webinar_regs",
    "webinar_attend": "attendance",
    "broadcast_sent": "broadcasts",
}
REG_ROLES = ("student", "coordinator", "staff")
PARTICIPATION_KINDS = ("challenge_join", "submission", "webinar_attend")
# Logged on the participant's row but done by someone else: not "activity" of that user.
PASSIVE_KINDS = ("submission_approved", "submission_rejected", "winner")

AREA_COLUMNS = ("registrations", "active", "joins", "submissions", "approved", "winners",
                "webinar_regs", "attendance")
AREA_LABELS = {
    "registrations": _("Registrations"), "active": _("Active users"), "joins": _("Joined"),
    "submissions": _("Entries submitted"), "approved": _("Entries approved"),
    "winners": _("Winners"), "webinar_regs": _("Registrations for webinars"),
    "attendance": _("Attendance"), "participation": _("Participation"),
}


@dataclass
class AreaRow:
    area_id: int | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def participation(self) -> int:
        """Joins + entries submitted + webinar attendance."""
        return sum(self.counts.get(k, 0) for k in ("joins", "submissions", "attendance"))

    def get(self, key: str) -> int:
        return self.participation if key == "participation" else self.counts.get(key, 0)


@dataclass
class Trend:
    week_starts: list[date]
    registrations: list[int]
    participation: list[int]
    attendance: list[int]


@dataclass
class Stats:
    period: Period
    scope: Scope
    current: dict[str, int]
    previous: dict[str, int]
    areas: list[AreaRow]  # by participation, largest first
    total: AreaRow
    trend: Trend | None = None


def _period_filters(period: Period, scope: Scope) -> list[Any]:
    a = ActivityLog
    return [a.at >= period.start, a.at < period.end,
            *scope.filters(a.region_id, a.district_id)]


def covered(stmt: Any, index: str = "ix_activity_stats") -> Any:
    """SQLite's planner may pick a narrower index and read the table row by row; the
    covering indexes of migration 0005 answer these queries from the index alone."""
    return stmt.with_hint(ActivityLog, f"INDEXED BY {index}", "sqlite")


async def undone_wins(session: AsyncSession, *conds: Any) -> list[Any]:
    """The `winner` rows (among those matching `conds`) whose place was cleared afterwards:
    a `winner_cleared` row of the same entry comes later. They count nowhere, in any period:
    a cleared place is no win. Given again after the clearing, the entry has a new `winner`
    row, which counts (in its own week). A changed place logs `winner_changed`, not a second
    `winner`, so a win counts once. Rows of erased users stay and count like any other.

    Cleared places are rare: one indexed look-up of them, and only if there are any, the
    `winner` rows of those challenges; callers subtract the result from their counts."""
    a = ActivityLog
    cleared = (await session.execute(select(a.id, a.at, a.ref_id, a.extra).where(
        a.kind == "winner_cleared"))).all()
    last_cleared: dict[int, tuple[datetime, int]] = {}
    for row in cleared:
        sid = (row.extra or {}).get("submission_id")
        if sid is not None:
            last_cleared[sid] = max(last_cleared.get(sid, (row.at, row.id)), (row.at, row.id))
    if not last_cleared:
        return []
    wins = await session.execute(
        select(a.id, a.at, a.user_id, a.region_id, a.district_id, a.ref_id, a.extra)
        .where(a.kind == "winner", a.ref_id.in_(sorted({r.ref_id for r in cleared})), *conds))
    return [w for w in wins
            if (sid := (w.extra or {}).get("submission_id")) in last_cleared
            and (w.at, w.id) < last_cleared[sid]]


def _add(row: AreaRow, metric: str, n: int) -> None:
    row.counts[metric] = row.counts.get(metric, 0) + n


async def _activity_counts(session: AsyncSession, period: Period, scope: Scope,  # noqa: C901
                           by_area: bool = True, districts: dict | None = None,
                           ) -> tuple[dict[str, int], dict[int | None, AreaRow]]:
    """Totals and per-area rows; with `districts` (a dict to fill) also per
    (region, district) rows from the same two scans (used by the spreadsheet)."""
    a = ActivityLog
    area_col = a.region_id if scope.area == "region" else a.district_id
    if districts is not None:
        places = [a.region_id, a.district_id]
    else:
        places = [area_col] if by_area else []
    group = [a.kind, a.role, *places]
    rows = await session.execute(covered(
        select(*group, func.count()).where(*_period_filters(period, scope)).group_by(*group)))
    totals = dict.fromkeys(METRIC_KEYS, 0)
    areas: dict[int | None, AreaRow] = {}

    def area_rows(place: list[Any]) -> list[AreaRow]:
        if districts is None:
            key = place[0] if place else None
            return [areas.setdefault(key, AreaRow(key))]
        region_id, district_id = place
        key = region_id if scope.area == "region" else district_id
        return [areas.setdefault(key, AreaRow(key)),
                districts.setdefault((region_id, district_id), AreaRow(district_id))]

    for kind, role, *place, n in rows:
        targets = area_rows(place)
        if kind == "register":
            if role in REG_ROLES:
                totals[f"reg_{role}"] += n
            for row in targets:
                _add(row, "registrations", n)
            continue
        metric = KIND_METRIC.get(kind)
        if metric is None:
            continue
        totals[metric] += n
        if metric in AREA_COLUMNS:
            for row in targets:
                _add(row, metric, n)
    for win in await undone_wins(session, *_period_filters(period, scope)):
        totals["winners"] -= 1
        place = [win.region_id, win.district_id]
        if districts is None:
            place = [win.region_id if scope.area == "region" else win.district_id][:len(places)]
        for row in area_rows(place):
            _add(row, "winners", -1)
    # One pass: each active user once, in the area of their (latest-numbered) rows.
    per_user = covered(
        select(a.user_id, *[func.max(c).label(f"p{i}") for i, c in enumerate(places)])
        .where(*_period_filters(period, scope), a.kind.not_in(PASSIVE_KINDS),
               a.user_id.is_not(None))
        .group_by(a.user_id)).subquery()
    cols = [per_user.c[f"p{i}"] for i in range(len(places))]
    active = await session.execute(
        select(*cols, func.count()).select_from(per_user).group_by(*cols))
    for *place, n in active:
        totals["active"] += n
        if by_area:
            for row in area_rows(place):
                _add(row, "active", n)
    return totals, areas


async def _coordinators(session: AsyncSession, period: Period, scope: Scope) -> dict[str, int]:
    rows = await session.execute(
        select(User.coordinator_level, func.count())
        .where(User.role == "coordinator", User.status == "active",
               User.created_at < period.end, *scope.filters(User.region_id, User.district_id))
        .group_by(User.coordinator_level))
    found = dict(rows.all())
    return {"coord_regional": found.get("regional", 0),
            "coord_district": found.get("district", 0)}


def speaker_names(speakers: Iterable[Any] | None) -> list[str]:
    names = []
    for s in speakers or []:
        name = s.get("name") if isinstance(s, dict) else s
        if name and str(name).strip():
            names.append(" ".join(str(name).split()))
    return names


async def _webinars_held(session: AsyncSession, period: Period) -> dict[str, int]:
    try:
        from db.models.webinars import Webinar
    except ImportError:  # the webinars feature is not installed
        return {"webinars_held": 0, "speakers": 0}
    rows = (await session.execute(
        select(Webinar.id, Webinar.speakers)
        .where(Webinar.starts_at >= period.start, Webinar.starts_at < period.end,
               Webinar.starts_at <= utcnow(), Webinar.status != "cancelled"))).all()
    speakers = {n.casefold() for _id, sp in rows for n in speaker_names(sp)}
    return {"webinars_held": len(rows), "speakers": len(speakers)}


async def _deliveries(session: AsyncSession, period: Period, scope: Scope) -> dict[str, int]:
    d = Delivery
    q = (select(d.status, func.count())
         .where(d.source_type == "broadcast", d.sent_at >= period.start,
                d.sent_at < period.end, d.status.in_(("sent", "blocked")))
         .group_by(d.status))
    if not scope.is_country:
        q = q.join(User, User.id == d.user_id).where(
            *scope.filters(User.region_id, User.district_id))
    found = dict((await session.execute(q)).all())
    return {"delivered": found.get("sent", 0), "blocked": found.get("blocked", 0)}


async def summary(session: AsyncSession, period: Period, scope: Scope, by_area: bool = True,
                  districts: dict | None = None,
                  ) -> tuple[dict[str, int], dict[int | None, AreaRow]]:
    """Every metric of one period, and the per-area rows."""
    totals, areas = await _activity_counts(session, period, scope, by_area, districts)
    totals.update(await _coordinators(session, period, scope))
    totals.update(await _webinars_held(session, period))
    totals.update(await _deliveries(session, period, scope))
    return totals, areas


async def trend(session: AsyncSession, last_day: date, tz: ZoneInfo, scope: Scope,
                weeks: int = TREND_WEEKS) -> Trend:
    """Weekly registrations, participation and attendance for `weeks` weeks up to last_day."""
    last_week = week_of(last_day, tz)
    starts = [last_week.first_day - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    bounds = [datetime.combine(d, time(), tz).astimezone(UTC) for d in starts]
    bounds.append(last_week.end)
    a = ActivityLog
    kinds = ("register", *PARTICIPATION_KINDS)
    # One plain range count per week: much cheaper in SQLite than a CASE on every row.
    per_week = [
        covered(select(a.kind, literal(i).label("week"), func.count().label("n"))
                .where(a.kind.in_(kinds), a.at >= bounds[i], a.at < bounds[i + 1],
                       *scope.filters(a.region_id, a.district_id))
                .group_by(a.kind), "ix_activity_kind_scope")
        for i in range(weeks)]
    rows = await session.execute(union_all(*per_week))
    reg, part, att = [0] * weeks, [0] * weeks, [0] * weeks
    for kind, i, n in rows:
        if i >= weeks:
            continue
        if kind == "register":
            reg[i] += n
        else:
            part[i] += n
            if kind == "webinar_attend":
                att[i] += n
    return Trend(starts, reg, part, att)


async def collect(session: AsyncSession, period: Period, scope: Scope,
                  with_trend: bool = True, districts: dict | None = None) -> Stats:
    """The period, the one before it (totals only) and the trend; `districts`, when given,
    is filled with {(region_id, district_id): AreaRow}."""
    current, areas = await summary(session, period, scope, districts=districts)
    previous, _prev_areas = await summary(session, period.previous(), scope, by_area=False)
    total = AreaRow(None, {k: current.get(k, 0) for k in AREA_COLUMNS})
    total.counts["registrations"] = sum(current[f"reg_{r}"] for r in REG_ROLES)
    if scope.district_id is not None:
        areas = {k: v for k, v in areas.items() if k == scope.district_id}
    ordered = sorted((r for r in areas.values() if r.area_id is not None),
                     key=lambda r: (-r.participation, -r.get("active"), r.area_id or 0))
    tr = (await trend(session, period.last_day, period.tz, scope)) if with_trend else None
    return Stats(period, scope, current, previous, ordered, total, tr)


# ---------------------------------------------------------------- rendering


def fmt_change(cur: int, prev: int, fmt: Callable[[int | float], str]) -> str:
    diff = cur - prev
    if diff == 0:
        return "±0"
    sign = "+" if diff > 0 else "−"
    text = f"{sign}{fmt(abs(diff))}"
    if prev > 0:
        text += f", {sign}{fmt(round(abs(diff) * 100 / prev))}%"
    return text


def render_text(stats: Stats, tr: Translate, fmt: Callable[[int | float], str],
                place_name: Callable[[str, int], str], top: int = 5) -> str:
    """The /stats reply and the digest (HTML: place names are escaped, staff import them)."""
    cur, prev = stats.current, stats.previous
    if stats.scope.district_id is not None:
        where = html.escape(place_name("district", stats.scope.district_id))
    elif stats.scope.region_id is not None:
        where = html.escape(place_name("region", stats.scope.region_id))
    else:
        where = tr(_("Whole country"))
    lines = [
        "📊 <b>" + tr(_("Statistics: {period}")).format(period=stats.period.label()) + "</b>",
        tr(_("Scope: {scope}")).format(scope=where),
        "<i>" + tr(_("In brackets: the change against {period}.")).format(
            period=stats.period.previous().label()) + "</i>",
    ]
    for title, rows in SECTIONS:
        lines.append("")
        lines.append(f"<b>{tr(title)}</b>")
        for key, label in rows:
            lines.append(f"• {tr(label)}: <b>{fmt(cur[key])}</b> "
                         f"({fmt_change(cur[key], prev[key], fmt)})")
    heading = tr(_("By region")) if stats.scope.area == "region" else tr(_("By district"))
    lines.append("")
    lines.append("<b>" + heading + "</b> — " + tr(_(
        "registrations / active users / participation")))
    for n, row in enumerate(stats.areas[:top], start=1):
        name = html.escape(place_name(stats.scope.area, row.area_id or 0))
        lines.append(f"{n}. {name}: {fmt(row.get('registrations'))} / "
                     f"{fmt(row.get('active'))} / {fmt(row.participation)}")
    if not stats.areas:
        lines.append(tr(_("No activity in this period.")))
    t = stats.total
    lines.append("<b>" + tr(_("Total")) + f"</b>: {fmt(t.get('registrations'))} / "
                 f"{fmt(t.get('active'))} / {fmt(t.participation)}")
    return "\n".join(lines)


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


# ---------------------------------------------------------------- digest preferences


def digest_enabled(settings: dict | None) -> bool:
    return bool((settings or {}).get("digest", True))


async def set_digest(session: AsyncSession, user_id: int, enabled: bool) -> None:
    user = await session.get(User, user_id)
    if user is None:
        raise DomainError("not_found")
    user.settings = {**(user.settings or {}), "digest": enabled}


def place_namer(places: Any, locale: str) -> Callable[[str, int], str]:
    """(kind, id) -> a region's or district's name in `locale` (PlaceDirectory lookups)."""
    def name(kind: str, place_id: int) -> str:
        place = places.region(place_id) if kind == "region" else places.district(place_id)
        return place.name(locale) if place else f"#{place_id}"
    return name
