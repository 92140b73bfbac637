"""The metrics and their counts from the activity log and entity tables (see the package's
definitions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import weekly
from bot.services.stats.periods import Period, Scope, _, week_of
from db.base import utcnow
from db.models import ActivityLog, Delivery, Organisation, User

TREND_WEEKS = 12


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
    # One record per school after staff merge duplicates (bot.services.organisations): the
    # annual report counts schools, colleges and universities taking part, not spellings.
    (_("Participating organisations"), [
        ("orgs_school", _("Schools")),
        ("orgs_college", _("Colleges")),
        ("orgs_university", _("Universities")),
        ("orgs_total", _("Total")),
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
ORG_TYPES = ("school", "college", "university")
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
    # coordinators' weekly reports (bot.services.weekly.Offline): this period, the one before
    offline: Any = None
    offline_before: Any = None
    # those counted without an area (staff, erased people): the rows plus this add up to total
    unplaced: AreaRow | None = None


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


@dataclass
class _Areas:
    """The per-area rows being filled, and with `districts` the per (region, district) ones."""

    scope: Scope
    districts: dict | None
    rows: dict[int | None, AreaRow] = field(default_factory=dict)

    def of(self, place: list[Any]) -> list[AreaRow]:
        """The rows a count of `place` ([area] or [] per area; [region, district] with
        districts) adds to."""
        if self.districts is None:
            key = place[0] if place else None
            return [self.rows.setdefault(key, AreaRow(key))]
        region_id, district_id = place
        key = region_id if self.scope.area == "region" else district_id
        return [self.rows.setdefault(key, AreaRow(key)),
                self.districts.setdefault((region_id, district_id), AreaRow(district_id))]

    def add(self, place: list[Any], metric: str, n: int) -> None:
        for row in self.of(place):
            _add(row, metric, n)


def _count_kind(totals: dict[str, int], areas: _Areas, kind: str, role: str,
                place: list[Any], n: int) -> None:
    if kind == "register":
        if role in REG_ROLES:
            totals[f"reg_{role}"] += n
        areas.add(place, "registrations", n)
        return
    metric = KIND_METRIC.get(kind)
    if metric is None:
        return
    totals[metric] += n
    if metric in AREA_COLUMNS:
        areas.add(place, metric, n)


async def _subtract_undone_wins(session: AsyncSession, period: Period, scope: Scope,
                                totals: dict[str, int], areas: _Areas, places: list[Any]) -> None:
    for win in await undone_wins(session, *_period_filters(period, scope)):
        totals["winners"] -= 1
        place = [win.region_id, win.district_id]
        if areas.districts is None:
            place = [win.region_id if scope.area == "region" else win.district_id][:len(places)]
        areas.add(place, "winners", -1)


async def _count_active(session: AsyncSession, period: Period, scope: Scope,
                        totals: dict[str, int], areas: _Areas | None, places: list[Any]) -> None:
    """One pass: each active user once, in the area of their (latest-numbered) rows."""
    a = ActivityLog
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
        if areas is not None:
            areas.add(place, "active", n)


async def _activity_counts(session: AsyncSession, period: Period, scope: Scope,
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
    areas = _Areas(scope, districts)
    for kind, role, *place, n in rows:
        _count_kind(totals, areas, kind, role, place, n)
    await _subtract_undone_wins(session, period, scope, totals, areas, places)
    await _count_active(session, period, scope, totals, areas if by_area else None, places)
    return totals, areas.rows


async def _coordinators(session: AsyncSession, period: Period, scope: Scope) -> dict[str, int]:
    rows = await session.execute(
        select(User.coordinator_level, func.count())
        .where(User.role == "coordinator", User.status == "active",
               User.created_at < period.end, *scope.filters(User.region_id, User.district_id))
        .group_by(User.coordinator_level))
    found = dict(rows.all())
    return {"coord_regional": found.get("regional", 0),
            "coord_district": found.get("district", 0)}


async def _organisations(session: AsyncSession, period: Period,
                         scope: Scope) -> dict[str, int]:
    """Organisations taking part: those with a person active in the period (the same rows as
    "Active users"). People point at the live record after a merge, and a record merged into
    another counts as that one, so a merged duplicate is never counted twice."""
    a, o = ActivityLog, Organisation
    live = func.coalesce(o.merged_into_id, o.id)
    # The active people first, from the covering index (as _count_active), then their
    # records: joining every activity row to users cost three times as much over a year.
    people = covered(
        select(a.user_id).where(*_period_filters(period, scope), a.kind.not_in(PASSIVE_KINDS),
                                a.user_id.is_not(None))
        .group_by(a.user_id)).subquery()
    rows = await session.execute(
        select(o.org_type, func.count(distinct(live)))
        .select_from(people).join(User, User.id == people.c.user_id)
        .join(o, o.id == User.organisation_id)
        .group_by(o.org_type))
    found = dict(rows.all())
    out = {f"orgs_{t}": found.get(t, 0) for t in ORG_TYPES}
    out["orgs_total"] = sum(found.values())
    return out


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
    totals.update(await _organisations(session, period, scope))
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
    offline = await weekly.offline(session, period, scope)
    before = await weekly.offline(session, period.previous(), scope)
    unplaced = areas.get(None) if scope.district_id is None else None
    return Stats(period, scope, current, previous, ordered, total, tr, offline, before, unplaced)
