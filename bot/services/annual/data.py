"""What the annual report counts, beyond bot.services.stats: each challenge's participants,
entries and winners, a contest's entries by nomination, activity by faction and by type of
organisation, coordinators by level, webinar attendance by role.

Every breakdown has a row for "not given" where a record lacks the attribute, so its rows
add up to the same total as the whole-year figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import stats as st
from bot.services.reports import _challenge_cols, _title
from db.models import ActivityLog, User

logger = logging.getLogger(__name__)
# The kinds a breakdown counts, by column (winners less the places cleared afterwards).
BREAKDOWN_KINDS = {"register": "registrations", "challenge_join": "joins",
                   "submission": "submissions", "webinar_attend": "attendance",
                   "winner": "winners"}
BREAKDOWN_COLUMNS = ("registrations", "active", "joins", "submissions", "attendance", "winners")


@dataclass
class YearChallenge:
    id: int
    title: str
    kind: str
    starts: datetime | None
    participants: int
    entries: int
    winners: int
    # contests: (nomination name or None, entries, approved, winners), in the options' order
    nominations: list[tuple[str | None, int, int, int]] = field(default_factory=list)


async def year_challenges(session: AsyncSession, period: st.Period,
                          locale: str) -> list[YearChallenge]:
    """Every published challenge, action and contest starting in the year."""
    try:
        from db.models.challenges import Challenge, ChallengeParticipant, Submission

        items = (await session.execute(select(*_challenge_cols(Challenge)).where(
            Challenge.starts_at >= period.start, Challenge.starts_at < period.end,
            Challenge.status != "draft").order_by(Challenge.starts_at))).all()
        if not items:
            return []
        ids = [c.id for c in items]
        joins = dict((await session.execute(
            select(ChallengeParticipant.challenge_id, func.count())
            .where(ChallengeParticipant.challenge_id.in_(ids))
            .group_by(ChallengeParticipant.challenge_id))).all())
        s = Submission
        subs = {cid: (n, w) for cid, n, w in await session.execute(
            select(s.challenge_id, func.count(), func.count(s.place))
            .where(s.challenge_id.in_(ids), s.status != "withdrawn")
            .group_by(s.challenge_id))}
        nominations = await _nominations(session, ids, locale)
    except Exception:
        logger.warning("challenges unavailable for the report", exc_info=True)
        return []
    return [YearChallenge(c.id, _title(c, locale), c.kind, c.starts_at, joins.get(c.id, 0),
                          *subs.get(c.id, (0, 0)), nominations.get(c.id, []))
            for c in items]


async def _nominations(session: AsyncSession, ids: list[int], locale: str,
                       ) -> dict[int, list[tuple[str | None, int, int, int]]]:
    """Per challenge with nominations: each nomination's entries, approved and winners; an
    entry without a nomination counts in a row of its own (name None)."""
    from db.models.challenges import ChallengeOption, Submission

    options = (await session.scalars(
        select(ChallengeOption).where(ChallengeOption.challenge_id.in_(ids),
                                      ChallengeOption.kind == "nomination")
        .order_by(ChallengeOption.challenge_id, ChallengeOption.sort, ChallengeOption.id))).all()
    if not options:
        return {}
    s = Submission
    counts = {(cid, nid): (n, ok, won) for cid, nid, n, ok, won in await session.execute(
        select(s.challenge_id, s.nomination_id, func.count(),
               func.count(s.id).filter(s.status == "approved"), func.count(s.place))
        .where(s.challenge_id.in_({o.challenge_id for o in options}), s.status != "withdrawn")
        .group_by(s.challenge_id, s.nomination_id))}
    out: dict[int, list[tuple[str | None, int, int, int]]] = {}
    for o in options:
        out.setdefault(o.challenge_id, []).append((o.name(locale), *counts.get(
            (o.challenge_id, o.id), (0, 0, 0))))
    for (cid, nid), values in counts.items():
        if nid is None and cid in out:
            out[cid].append((None, *values))
    return out


async def breakdown(session: AsyncSession, period: st.Period, attribute: str,
                    ) -> dict[str | None, dict[str, int]]:
    """The year's activity by the actor's `attribute`: "org_type" as logged on each row
    (the organisation at that moment), "faction" as the person's profile has it now (not
    logged; erased people count under None). Columns: BREAKDOWN_COLUMNS."""
    a = ActivityLog
    key = a.org_type if attribute == "org_type" else User.faction
    base = (select(key.label("key"), a.kind, func.count().label("n"))
            .where(a.at >= period.start, a.at < period.end, a.kind.in_(list(BREAKDOWN_KINDS))))
    if attribute != "org_type":
        base = base.outerjoin(User, User.id == a.user_id)
    out: dict[str | None, dict[str, int]] = {}
    for value, kind, n in await session.execute(base.group_by(key, a.kind)):
        _row(out, value)[BREAKDOWN_KINDS[kind]] += n
    active = select(key, func.count(distinct(a.user_id))).where(
        a.at >= period.start, a.at < period.end, a.kind.not_in(st.PASSIVE_KINDS),
        a.user_id.is_not(None))
    if attribute != "org_type":
        active = active.outerjoin(User, User.id == a.user_id)
    for value, n in await session.execute(active.group_by(key)):
        _row(out, value)["active"] += n
    await _less_undone_wins(session, period, attribute, out)
    return out


def _row(table: dict[str | None, dict[str, int]], key: str | None) -> dict[str, int]:
    return table.setdefault(key or None, dict.fromkeys(BREAKDOWN_COLUMNS, 0))


async def _less_undone_wins(session: AsyncSession, period: st.Period, attribute: str,
                            out: dict[str | None, dict[str, int]]) -> None:
    a = ActivityLog
    undone = await st.undone_wins(session, a.at >= period.start, a.at < period.end)
    if not undone:
        return
    if attribute == "org_type":
        org_types = dict((await session.execute(
            select(a.id, a.org_type).where(a.id.in_([w.id for w in undone])))).all())
        keys = [org_types.get(w.id) for w in undone]
    else:
        factions = dict((await session.execute(select(User.id, User.faction).where(
            User.id.in_({w.user_id for w in undone if w.user_id}))) ).all())
        keys = [factions.get(w.user_id) for w in undone]
    for key in keys:
        _row(out, key)["winners"] -= 1


async def coordinators(session: AsyncSession, period: st.Period,
                       ) -> dict[tuple[str | None, str], int]:
    """Active coordinators at the year's end by (level, parliament): "school" for those of a
    school, "student" for a college or university, "unknown" where no type is given."""
    rows = await session.execute(
        select(User.coordinator_level, User.org_type, func.count())
        .where(User.role == "coordinator", User.status == "active",
               User.created_at < period.end)
        .group_by(User.coordinator_level, User.org_type))
    out: dict[tuple[str | None, str], int] = {}
    for level, org_type, n in rows:
        parliament = ("school" if org_type == "school" else
                      "student" if org_type in ("college", "university") else "unknown")
        out[(level, parliament)] = out.get((level, parliament), 0) + n
    return out


async def attendance_by_role(session: AsyncSession, period: st.Period) -> dict[str, int]:
    """Webinar attendances in the year by the attendee's role (as logged)."""
    a = ActivityLog
    rows = await session.execute(
        select(a.role, func.count()).where(a.kind == "webinar_attend", a.at >= period.start,
                                           a.at < period.end).group_by(a.role))
    return {role or "": n for role, n in rows}


def area_rows(areas: dict[int | None, Any]) -> tuple[list[Any], Any | None]:
    """The regions with a place (busiest first) and the row of those without one."""
    known = sorted((r for k, r in areas.items() if k is not None),
                   key=lambda r: (-r.participation, -r.get("active"), r.area_id or 0))
    return known, areas.get(None)
