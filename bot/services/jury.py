"""The jury round of a contest: jurors, criteria, scoring with recusal, quorum, rankings."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.challenges.common import Notices, get_challenge
from bot.services.challenges.creating import parse_options
from bot.services.challenges.results import set_places
from bot.services.delivery import enqueue_personal
from bot.services.errors import DomainError
from bot.services.jury_seats import (
    JUDGED,
    SEATS,
    Seat,
    juror_to_add,
    recusal,
    seat_from,
    seat_of,
)
from bot.services.jury_seats import judged_entries as _entries
from bot.services.numbers import typed_int
from db.models import Delivery, User
from db.models.challenges import Challenge, JuryMember, JuryScore, Submission
from db.upserts import insert_for

SCORE_MAX = 10


def criterion_name(criterion: dict[str, str], locale: str) -> str:
    return criterion.get(locale) or criterion.get("ru") or criterion["kk"]


async def jury_editable(session: AsyncSession, challenge_id: int) -> Challenge:
    """The contest, if its jury (criteria, quorum, jurors, the round) may still change: only
    a contest has a jury, and once the results are published nothing here changes."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.kind != "contest":
        raise DomainError("jury_contest_only")
    if challenge.status == "judged":
        raise DomainError("already_judged")
    return challenge


async def set_criteria(session: AsyncSession, challenge_id: int, text: str, actor: Any) -> int:
    challenge = await jury_editable(session, challenge_id)
    if await session.scalar(select(func.count()).select_from(JuryScore).join(
            Submission, Submission.id == JuryScore.submission_id)
            .where(Submission.challenge_id == challenge_id)):
        raise DomainError("jury_started")
    challenge.jury_criteria = parse_options(text)
    await log_activity(session, "jury_criteria", actor, "challenge", challenge_id,
                       {"count": len(challenge.jury_criteria)})
    return len(challenge.jury_criteria)


async def set_quorum(session: AsyncSession, challenge_id: int, text: str, actor: Any) -> int:
    challenge = await jury_editable(session, challenge_id)
    quorum = typed_int(text)
    if quorum is None or not 1 <= quorum <= 50:
        raise DomainError("bad_number", max=50)
    before, challenge.jury_quorum = challenge.jury_quorum, quorum
    if before != challenge.jury_quorum:
        await log_activity(session, "jury_quorum", actor, "challenge", challenge_id,
                           {"before": before, "after": challenge.jury_quorum})
    return challenge.jury_quorum


async def add_juror(session: AsyncSession, notices: Notices, challenge_id: int, tg_id: int,
                    actor: Any, now: datetime) -> User:
    """A registered user joins the jury and gets an invitation with a start button.

    Adding someone already on the jury changes nothing and sends nothing; someone removed
    and added again is a new assignment and gets a new invitation."""
    challenge = await jury_editable(session, challenge_id)
    juror = await juror_to_add(session, challenge_id, tg_id)
    result = await session.execute(insert_for(session)(JuryMember).values(
        challenge_id=challenge_id, user_id=juror.id, added_at=now,
        region_id=juror.region_id, district_id=juror.district_id, org_name=juror.org_name,
        organisation_id=juror.organisation_id)
        .on_conflict_do_nothing(index_elements=["challenge_id", "user_id"]))
    if not result.rowcount:
        return juror
    await log_activity(session, "jury_added", actor, "challenge", challenge_id,
                       {"juror": juror.id})
    if juror.chat_id:
        await enqueue_personal(session, "jury", challenge_id, juror.id, juror.chat_id,
                               notices.jury_invitation(challenge, juror.locale),
                               await _invitation_key(session, challenge_id, juror.id))
    return juror


async def _invitation_key(session: AsyncSession, challenge_id: int, user_id: int) -> str:
    """The dedup suffix of this assignment's invitation: one per time the person is put on
    the jury. Counted from the invitations already queued (rows of the queue are never
    deleted), not from JuryMember.id, which SQLite reuses when the last row is removed and
    added again. The first invitation keeps the empty suffix it always had."""
    sent = await session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.source_type == "jury", Delivery.source_id == challenge_id,
        Delivery.user_id == user_id)) or 0
    return f"again{sent}" if sent else ""


async def remove_juror(session: AsyncSession, challenge_id: int, user_id: int,
                       actor: Any) -> None:
    """Their scores so far stay and count; they get no more entries."""
    await jury_editable(session, challenge_id)
    result = await session.execute(delete(JuryMember).where(
        JuryMember.challenge_id == challenge_id, JuryMember.user_id == user_id))
    if result.rowcount:  # an old or forged button for someone not on the jury: nothing
        await log_activity(session, "jury_removed", actor, "challenge", challenge_id,
                           {"juror": user_id})


async def juries_of(session: AsyncSession, user_id: int) -> list[Challenge]:
    """The contests this person judges whose results are not out yet (for /judge)."""
    return list((await session.scalars(
        select(Challenge).join(JuryMember, JuryMember.challenge_id == Challenge.id)
        .where(JuryMember.user_id == user_id, Challenge.status.in_(("open", "closed")))
        .order_by(Challenge.deadline_at, Challenge.id))).all())


async def in_review(session: AsyncSession, challenge_id: int) -> int:
    """Entries still waiting for review (at any tier): they may come to the jury later."""
    return await session.scalar(select(func.count()).select_from(Submission).where(
        Submission.challenge_id == challenge_id, Submission.status == "pending")) or 0


async def _complete(session: AsyncSession, challenge: Challenge,
                    submission_id: int | None = None) -> dict[int, set[int]]:
    """submission id -> jurors who scored every criterion (of one entry, if given)."""
    n = len(challenge.jury_criteria or [])
    where = [Submission.challenge_id == challenge.id]
    if submission_id is not None:
        where.append(JuryScore.submission_id == submission_id)
    rows = (await session.execute(
        select(JuryScore.submission_id, JuryScore.juror_id, func.count())
        .join(Submission, Submission.id == JuryScore.submission_id)
        .where(*where)
        .group_by(JuryScore.submission_id, JuryScore.juror_id))).all()
    done: dict[int, set[int]] = defaultdict(set)
    for sid, juror_id, count in rows:
        if count >= n:
            done[sid].add(juror_id)
    return done


@dataclass
class NextEntry:
    submission: Submission
    criterion: int  # the first criterion this juror has not scored yet


def _check_round(challenge: Challenge) -> None:
    if challenge.jury_closed_at is not None or challenge.status == "judged":
        raise DomainError("jury_closed")  # published results close the round too
    if not challenge.jury_criteria:
        raise DomainError("jury_no_criteria")


async def next_entry(session: AsyncSession, challenge_id: int, juror_user_id: int,
                     ) -> NextEntry | None:
    """The entry this juror should score now: one they started first, else the fewest
    complete scores. A new entry is recorded as offered: only it can be scored next."""
    challenge = await get_challenge(session, challenge_id)
    _check_round(challenge)
    seat = await seat_of(session, challenge_id, juror_user_id)
    done = await _complete(session, challenge)
    mine = dict((await session.execute(
        select(JuryScore.submission_id, func.max(JuryScore.criterion))
        .join(Submission, Submission.id == JuryScore.submission_id)
        .where(Submission.challenge_id == challenge_id, JuryScore.juror_id == seat.user_id)
        .group_by(JuryScore.submission_id))).all())
    n = len(challenge.jury_criteria)
    candidates = []
    for entry in await _entries(session, challenge_id):
        sid = entry.id
        if recusal(entry, seat) or seat.user_id in done.get(sid, set()):
            continue
        if sid not in mine and len(done.get(sid, ())) >= challenge.jury_quorum:
            continue  # enough scores already; started ones are finished
        candidates.append((sid not in mine, len(done.get(sid, ())), sid))
    if not candidates:
        return None
    fresh, _count, sid = min(candidates)
    if fresh and seat.offered_id != sid:
        await session.execute(update(JuryMember).where(
            JuryMember.challenge_id == challenge_id, JuryMember.user_id == seat.user_id)
            .values(offered_id=sid))
    sub = await session.get(Submission, sid)
    started = mine.get(sid)
    return NextEntry(sub, 0 if started is None else min(started + 1, n - 1))


async def score(session: AsyncSession, submission_id: int, juror_user_id: int, criterion: int,
                value: int, now: datetime) -> tuple[Challenge, bool]:
    """Record one score; returns (challenge, whether the entry is now fully scored).

    A score counts only from a juror of the entry's contest, for an entry approved at the
    last review tier, neither their own nor from their region or organisation, and only for
    the entry they were offered (`next_entry`) while it is short of the quorum, or one they
    have started: a forged button for any other entry is refused."""
    sub = await session.get(Submission, submission_id)
    if sub is None:
        raise DomainError("not_found")
    challenge = await get_challenge(session, sub.challenge_id)
    if challenge.jury_closed_at is not None or challenge.status == "judged":
        raise DomainError("jury_closed")  # published results close the round too
    seat = await seat_of(session, challenge.id, juror_user_id)
    _check_score(challenge, sub, seat, criterion, value)
    if not await _scored(session, sub.id, seat.user_id):
        await _check_new_entry(session, challenge, sub, seat)
    before = await session.scalar(select(JuryScore.score).where(
        JuryScore.submission_id == sub.id, JuryScore.juror_id == seat.user_id,
        JuryScore.criterion == criterion))
    stmt = insert_for(session)(JuryScore).values(
        submission_id=sub.id, juror_id=seat.user_id, criterion=criterion, score=value, at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["submission_id", "juror_id", "criterion"],
        set_={"score": value, "at": now}))
    n = len(challenge.jury_criteria or [])
    complete = await _scored(session, sub.id, seat.user_id) >= n
    await _log_score(session, challenge, sub.id, seat, criterion, before, value, complete)
    return challenge, complete


def _check_score(challenge: Challenge, sub: Submission, seat: Seat, criterion: int,
                 value: int) -> None:
    if sub.status not in JUDGED:  # an old or forged button: not (or no longer) approved
        raise DomainError("not_for_jury", n=sub.id)
    reason = recusal(sub, seat)
    if reason:
        raise DomainError(reason)
    if not 0 <= criterion < len(challenge.jury_criteria or []):
        raise DomainError("bad_criterion", n=sub.id)
    if not 0 <= value <= SCORE_MAX:
        raise DomainError("bad_score", max=SCORE_MAX)


async def _check_new_entry(session: AsyncSession, challenge: Challenge, sub: Submission,
                           seat: Seat) -> None:
    """A new entry: only the one offered, and only short of the quorum."""
    if seat.offered_id != sub.id:
        raise DomainError("not_offered", n=sub.id)
    done = await _complete(session, challenge, sub.id)
    if len(done.get(sub.id, ())) >= challenge.jury_quorum:
        raise DomainError("quorum_reached", n=sub.id)


async def _log_score(session: AsyncSession, challenge: Challenge, submission_id: int,
                     seat: Seat, criterion: int, before: int | None, value: int,
                     complete: bool) -> None:
    juror = await session.get(User, seat.user_id)
    if before is None and complete:  # this score completed the juror's card
        await log_activity(session, "jury_score", juror, "challenge", challenge.id,
                           {"submission_id": submission_id})
    elif before is not None and before != value:  # an earlier score changed (an old button)
        await log_activity(session, "jury_score_changed", juror, "challenge", challenge.id,
                           {"submission_id": submission_id, "criterion": criterion,
                            "before": before, "after": value})


async def _scored(session: AsyncSession, submission_id: int, juror_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(JuryScore).where(
        JuryScore.submission_id == submission_id, JuryScore.juror_id == juror_id)) or 0


async def close_round(session: AsyncSession, challenge_id: int, actor: Any,
                      now: datetime) -> None:
    """Jurors score no more until the round is reopened (staff confirm it first)."""
    challenge = await jury_editable(session, challenge_id)
    if challenge.jury_closed_at is None:
        challenge.jury_closed_at = now
        await log_activity(session, "jury_closed", actor, "challenge", challenge_id)


async def reopen_round(session: AsyncSession, challenge_id: int, actor: Any) -> None:
    """A closed round opens again: scores given so far stay. Refused once the results are
    published (`already_judged`): participants were told, the jury no longer changes."""
    challenge = await jury_editable(session, challenge_id)
    if challenge.jury_closed_at is not None:
        challenge.jury_closed_at = None
        await log_activity(session, "jury_reopened", actor, "challenge", challenge_id)


@dataclass
class JurorProgress:
    user_id: int
    name: str
    done: int
    eligible: int
    recused: int = 0  # entries to judge this juror may not (own, region, organisation)

    @property
    def recused_from_all(self) -> bool:
        return self.recused > 0 and self.eligible == 0


async def progress(session: AsyncSession, challenge_id: int) -> list[JurorProgress]:
    challenge = await get_challenge(session, challenge_id)
    rows = (await session.execute(
        SEATS.add_columns(User.full_name, User.tg_id)
        .where(JuryMember.challenge_id == challenge_id).order_by(JuryMember.id))).all()
    entries = await _entries(session, challenge_id)
    done = await _complete(session, challenge)
    result = []
    for row in rows:
        seat = seat_from(row)
        eligible = [e for e in entries if not recusal(e, seat)]
        mine = sum(1 for e in eligible if seat.user_id in done.get(e.id, set()))
        result.append(JurorProgress(seat.user_id, row.full_name or str(row.tg_id), mine,
                                    len(eligible), len(entries) - len(eligible)))
    return result


@dataclass
class Ranked:
    rank: int
    tied: bool
    submission_id: int
    mean: float
    scores: int  # jurors with complete scores
    quorum: bool


async def rankings(session: AsyncSession, challenge_id: int,
                   ) -> dict[tuple[int | None, int | None], list[Ranked]]:
    """Per (nomination, category): the mean of each juror's total, best first; equal means
    share a rank and are marked as tied."""
    challenge = await get_challenge(session, challenge_id)
    done = await _complete(session, challenge)
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for sid, juror_id, value in (await session.execute(
            select(JuryScore.submission_id, JuryScore.juror_id, JuryScore.score)
            .join(Submission, Submission.id == JuryScore.submission_id)
            .where(Submission.challenge_id == challenge_id))).all():
        if juror_id in done.get(sid, set()):
            totals[(sid, juror_id)] += value
    by_entry: dict[int, list[int]] = defaultdict(list)
    for (sid, _juror), total in totals.items():
        by_entry[sid].append(total)
    groups: dict[tuple[int | None, int | None], list[tuple[float, int, int]]] = defaultdict(list)
    for entry in await _entries(session, challenge_id):
        if values := by_entry.get(entry.id):
            groups[(entry.nomination_id, entry.category_id)].append(
                (round(sum(values) / len(values), 2), entry.id, len(values)))
    result: dict[tuple[int | None, int | None], list[Ranked]] = {}
    for key, items in groups.items():
        items.sort(key=lambda r: (-r[0], r[1]))
        means = [m for m, _sid, _n in items]
        ranked = []
        for mean, sid, n in items:
            rank = means.index(mean) + 1
            ranked.append(Ranked(rank, means.count(mean) > 1, sid, mean, n,
                                 n >= challenge.jury_quorum))
        result[key] = ranked
    return result


# --- from the ranking to places -----------------------------------------------------------

PODIUM = ("1", "2", "3")  # rank 1, 2, 3 -> these places; the Grand Prix is only given by hand
DIPLOMAS_MAX = 10_000


@dataclass
class PlannedPlace:
    submission_id: int
    rank: int  # among the entries of its group that reached the quorum; ties share it
    tied: bool
    mean: float
    current: str | None
    place: str | None  # what the ranking gives (None: no place)


@dataclass
class PlacesPlan:
    """What applying the ranking would set, per (nomination, category) group.

    Only entries that reached the quorum take part. A Grand Prix set by hand is never
    touched; any other place that differs from the ranking is a conflict, overwritten only
    when the caller asks for it.
    """

    challenge_id: int
    diplomas: int | None  # diplomas after the podium; None: every other entry with the quorum
    groups: dict[tuple[int | None, int | None], list[PlannedPlace]]
    without_quorum: int
    jury_open: bool
    results_published: bool = False  # participants already heard; they are not told again

    def entries(self) -> list[PlannedPlace]:
        return [p for items in self.groups.values() for p in items]

    @property
    def grand_prix(self) -> list[PlannedPlace]:
        return [p for p in self.entries() if p.current == "grand_prix"]

    @property
    def new(self) -> list[PlannedPlace]:
        """No place yet; the ranking gives one."""
        return [p for p in self.entries() if p.current is None and p.place is not None]

    @property
    def conflicts(self) -> list[PlannedPlace]:
        """Already placed (by hand or an earlier run) and the ranking says otherwise."""
        return [p for p in self.entries() if p.current not in (None, "grand_prix")
                and p.current != p.place]

    def changes(self, overwrite: bool) -> list[tuple[int, str | None]]:
        chosen = self.new + (self.conflicts if overwrite else [])
        return sorted((p.submission_id, p.place) for p in chosen)

    def fingerprint(self) -> str:
        """Short and stable: confirming a preview applies exactly what it showed."""
        raw = repr((self.diplomas, sorted((p.submission_id, p.current, p.place)
                                          for p in self.entries())))
        return hashlib.sha1(raw.encode()).hexdigest()[:10]


def place_for_rank(rank: int, diplomas: int | None) -> str | None:
    if rank <= len(PODIUM):
        return PODIUM[rank - 1]
    if diplomas is None or rank <= len(PODIUM) + diplomas:
        return "diploma"
    return None


async def plan_places(session: AsyncSession, challenge_id: int,
                      diplomas: int | None) -> PlacesPlan:
    """The ranking turned into places: in each group, among the entries with the quorum,
    rank 1 -> 1st place, 2 -> 2nd, 3 -> 3rd, the next `diplomas` ranks -> diploma. Entries
    with equal means share a rank and so a place (1, 1, 3: the next one is third)."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status not in ("closed", "judged"):
        raise DomainError("not_closed")
    if diplomas is not None and not 0 <= diplomas <= DIPLOMAS_MAX:
        raise DomainError("bad_number", max=DIPLOMAS_MAX)
    ranked = await rankings(session, challenge_id)
    ids = [r.submission_id for items in ranked.values() for r in items]
    current = dict((await session.execute(select(Submission.id, Submission.place).where(
        Submission.id.in_(ids)))).all()) if ids else {}
    groups: dict[tuple[int | None, int | None], list[PlannedPlace]] = {}
    without_quorum = 0
    for key, items in ranked.items():
        eligible = [r for r in items if r.quorum]
        without_quorum += len(items) - len(eligible)
        means = [r.mean for r in eligible]  # best first, as rankings() sorts them
        planned = []
        for r in eligible:
            rank = means.index(r.mean) + 1
            planned.append(PlannedPlace(r.submission_id, rank, means.count(r.mean) > 1, r.mean,
                                        current.get(r.submission_id),
                                        place_for_rank(rank, diplomas)))
        if planned:
            groups[key] = planned
    if not groups:
        raise DomainError("ranking_no_quorum")
    return PlacesPlan(challenge_id, diplomas, groups, without_quorum,
                      challenge.jury_closed_at is None, challenge.status == "judged")


async def apply_ranking(session: AsyncSession, challenge_id: int, diplomas: int | None,
                        overwrite: bool, fingerprint: str, actor: Any,
                        ) -> tuple[PlacesPlan, int]:
    """Store the places of a previewed plan through `set_places` (which logs each winner);
    refuses with `ranking_changed` when scores or places moved since the preview."""
    plan = await plan_places(session, challenge_id, diplomas)
    if plan.fingerprint() != fingerprint:
        raise DomainError("ranking_changed")
    changes = plan.changes(overwrite)
    if changes:
        await set_places(session, challenge_id, changes, actor)
    await log_activity(session, "places_from_ranking", actor, "challenge", challenge_id,
                       {"diplomas": diplomas, "overwrite": overwrite, "changed": len(changes),
                        "overwritten": len(plan.conflicts) if overwrite else 0})
    return plan, len(changes)
