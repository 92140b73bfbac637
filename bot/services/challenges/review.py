"""Review: which entries a coordinator sees (their place and review tier), the decision on an
entry, and the nudges to whoever in their scope has not sent one yet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, Update, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.challenges.common import (
    OUT_OF_RUNNING,
    TIERS,
    Notices,
    audience_conditions,
    get_challenge,
    is_open,
)
from bot.services.delivery import (
    PRIORITY_PERSONAL,
    OutgoingMessage,
    Recipient,
    enqueue,
    enqueue_personal,
    payloads_for,
)
from bot.services.errors import DomainError
from bot.services.guardian import CONFIRMED
from bot.services.text import strip_controls
from db.models import User
from db.models.challenges import Challenge, ChallengeParticipant, Submission


def place_conditions(reviewer: Any) -> list[ColumnElement[bool]]:
    if reviewer.role == "staff":
        return []
    if reviewer.coordinator_level == "district" and reviewer.district_id:
        return [Submission.district_id == reviewer.district_id]
    if reviewer.region_id:
        return [Submission.region_id == reviewer.region_id]
    return [Submission.id < 0]  # a coordinator without a scope sees nothing


def stage_conditions(reviewer: Any) -> list[ColumnElement[bool]]:
    """Untiered entries: any coordinator of the scope; tiered: that tier's coordinators. A
    regional coordinator also pre-screens for a district that has no district coordinator
    (else its entries would wait for staff, unseen by anyone of the area)."""
    if reviewer.role == "staff":
        return []
    untiered = Submission.stage.is_(None)
    if reviewer.coordinator_level == "district":
        return [untiered | (Submission.stage == "district")]
    covered = select(User.district_id).where(
        User.role == "coordinator", User.coordinator_level == "district",
        User.status == "active", User.district_id.is_not(None))
    uncovered = Submission.district_id.is_(None) | Submission.district_id.not_in(covered)
    return [untiered | (Submission.stage == "regional")
            | ((Submission.stage == "district") & uncovered)]


def scope_conditions(reviewer: Any) -> list[ColumnElement[bool]]:
    return place_conditions(reviewer) + stage_conditions(reviewer)


async def next_pending(session: AsyncSession, reviewer: Any, after_id: int = 0,
                       ) -> Submission | None:
    base = select(Submission).where(Submission.status == "pending", *scope_conditions(reviewer))
    sub = await session.scalar(base.where(Submission.id > after_id).order_by(Submission.id)
                               .limit(1))
    if sub is None and after_id:
        sub = await session.scalar(base.order_by(Submission.id).limit(1))
    return sub


async def pending_count(session: AsyncSession, reviewer: Any) -> int:
    return await session.scalar(select(func.count()).select_from(Submission).where(
        Submission.status == "pending", *scope_conditions(reviewer))) or 0


async def get_in_scope(session: AsyncSession, submission_id: int, reviewer: Any) -> Submission:
    sub = await session.scalar(select(Submission).where(Submission.id == submission_id,
                                                        *place_conditions(reviewer)))
    if sub is None:
        raise DomainError("not_found")
    return sub


async def decide(session: AsyncSession, notices: Notices, submission_id: int, reviewer: Any,
                 approve: bool, reason: str | None, now: datetime) -> Submission:
    """Guarded: of two reviewers deciding at once, the second gets `already_reviewed`.

    With review tiers, approval at a tier hands the entry on to the next one; only the last
    tier's approval is final (and then the entry goes to the jury).
    """
    sub = await get_in_scope(session, submission_id, reviewer)
    stage = sub.stage
    if sub.status != "pending":
        raise DomainError("already_reviewed")
    next_tier = _next_tier(await get_challenge(session, sub.challenge_id), stage)
    same_stage = Submission.stage.is_(None) if stage is None else Submission.stage == stage
    # the reviewer's tier is checked here, in the guarded UPDATE: not this tier's entry (or
    # moved on meanwhile) reads as already reviewed, like a race lost to another reviewer
    guard = update(Submission).where(Submission.id == submission_id,
                                     Submission.status == "pending", same_stage,
                                     *stage_conditions(reviewer))
    if approve and next_tier:
        return await _promote(session, guard, sub, reviewer, next_tier, now)
    status = "approved" if approve else "rejected"
    await _guarded(session, guard.values(
        status=status, reviewed_by=reviewer.id, reviewed_at=now,
        reject_reason=None if approve else (strip_controls(reason or "") or None)))
    await session.refresh(sub)
    participant = await session.get(User, sub.user_id)
    await log_activity(session, f"submission_{status}", participant, "challenge",
                       sub.challenge_id, {"submission_id": sub.id, "by": reviewer.id})
    if participant is not None and participant.chat_id:
        await _tell_decision(session, notices, sub, participant, approve, reason, status)
    return sub


def _next_tier(challenge: Challenge, stage: str | None) -> str | None:
    """The tier an approval at `stage` hands the entry on to; None: the approval is final."""
    tiers = [t for t in challenge.review_tiers or [] if t in TIERS]
    later = tiers[tiers.index(stage) + 1:] if stage in tiers else []
    return later[0] if later else None


async def _guarded(session: AsyncSession, statement: Update) -> None:
    """The decision's UPDATE; no row changed: another reviewer (or tier) came first."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount == 0:
        raise DomainError("already_reviewed")


async def _promote(session: AsyncSession, guard: Update, sub: Submission, reviewer: Any,
                   stage: str, now: datetime) -> Submission:
    """Approved at a tier with a later one: the entry waits at `stage` (nobody is told)."""
    await _guarded(session, guard.values(stage=stage, reviewed_by=reviewer.id,
                                         reviewed_at=now))
    await session.refresh(sub)
    participant = await session.get(User, sub.user_id)
    await log_activity(session, "submission_promoted", participant, "challenge",
                       sub.challenge_id, {"submission_id": sub.id, "by": reviewer.id,
                                          "stage": stage})
    return sub


async def _tell_decision(session: AsyncSession, notices: Notices, sub: Submission,
                         participant: User, approve: bool, reason: str | None,
                         status: str) -> None:
    challenge = await get_challenge(session, sub.challenge_id)
    message = notices.decision(sub.id, challenge, participant.locale, approve, reason)
    await enqueue_personal(session, "submission", sub.id, participant.id, participant.chat_id,
                           message, dedup_suffix=status)


def user_scope_conditions(viewer: Any) -> list[ColumnElement[bool]]:
    """People a coordinator looks after (staff: everyone)."""
    if viewer.role == "staff":
        return []
    if viewer.coordinator_level == "district" and viewer.district_id:
        return [User.district_id == viewer.district_id]
    if viewer.region_id:
        return [User.region_id == viewer.region_id]
    return [User.id < 0]


def _submitted_ids(challenge_id: int) -> Select[Any]:
    return select(Submission.user_id).where(Submission.challenge_id == challenge_id,
                                            Submission.status.not_in(OUT_OF_RUNNING))


async def not_submitted(session: AsyncSession, challenge_id: int, viewer: Any) -> list[User]:
    """Joined but no entry yet, within the viewer's scope. A minor waiting for a guardian
    cannot send one: not listed (by name) and not nudged."""
    return list((await session.scalars(
        select(User).join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
        .where(ChallengeParticipant.challenge_id == challenge_id, User.status == "active",
               CONFIRMED, User.id.not_in(_submitted_ids(challenge_id)),
               *user_scope_conditions(viewer))
        .order_by(User.org_name, User.full_name))).all())


async def schools_without_entries(session: AsyncSession, challenge_id: int, viewer: Any,
                                  ) -> list[tuple[int | None, str]]:
    """(district id, organisation) of the viewer's scope and the audience with no entry."""
    challenge = await get_challenge(session, challenge_id)
    base = [User.role == "student", User.status == "active", User.org_name.is_not(None),
            CONFIRMED, *user_scope_conditions(viewer),
            *audience_conditions(challenge.audience or {})]
    every = set((await session.execute(
        select(User.district_id, User.org_name).where(*base).distinct())).all())
    with_entries = set((await session.execute(
        select(User.district_id, User.org_name).where(
            *base, User.id.in_(_submitted_ids(challenge_id))).distinct())).all())
    return sorted(every - with_entries, key=lambda r: (r[0] or 0, r[1] or ""))


async def nudge(session: AsyncSession, notices: Notices, challenge_id: int, viewer: Any,
                now: datetime, reader: AsyncSession | None = None) -> int:
    """Remind who joined but has not sent an entry (once a day per coordinator).

    Who that is is read through `reader` (a long read: see db.engine.create_read_engine);
    the messages are queued through `session`."""
    reader = reader or session
    challenge = await get_challenge(reader, challenge_id)
    if not is_open(challenge, now):
        raise DomainError("deadline_passed")
    people = [Recipient(u.id, u.chat_id, u.locale)
              for u in await not_submitted(reader, challenge_id, viewer) if u.chat_id]
    queued = await _queue_nudge(session, notices.tz, challenge, viewer, people, now,
                                lambda loc: notices.reminder(challenge, loc, now))
    await log_activity(session, "challenge_nudge", viewer, "challenge", challenge_id,
                       {"queued": queued})
    return queued


async def nudge_schools(session: AsyncSession, notices: Notices, challenge_id: int, viewer: Any,
                        now: datetime, reader: AsyncSession | None = None) -> int:
    """Invite the students of the viewer's schools that have no entry yet (once a day per
    coordinator; whoever also got the joined-but-not-sent reminder today gets one message).
    Read through `reader`, queued through `session`, as `nudge`."""
    reader = reader or session
    challenge = await get_challenge(reader, challenge_id)
    if not is_open(challenge, now):
        raise DomainError("deadline_passed")
    schools = set(await schools_without_entries(reader, challenge_id, viewer))
    rows = (await reader.execute(select(
        User.id, User.chat_id, User.locale, User.district_id, User.org_name).where(
        User.role == "student", User.status == "active", User.chat_id.is_not(None), CONFIRMED,
        *user_scope_conditions(viewer), *audience_conditions(challenge.audience or {})))).all()
    people = [Recipient(r.id, r.chat_id, r.locale) for r in rows
              if (r.district_id, r.org_name) in schools]
    queued = await _queue_nudge(session, notices.tz, challenge, viewer, people, now,
                                lambda loc: notices.school_invite(challenge, loc))
    await log_activity(session, "challenge_nudge_schools", viewer, "challenge", challenge_id,
                       {"schools": len(schools), "queued": queued})
    return queued


async def _queue_nudge(session: AsyncSession, tz: ZoneInfo, challenge: Challenge, viewer: Any,
                       people: list[Recipient], now: datetime,
                       message: Callable[[str], OutgoingMessage]) -> int:
    """One message a language; a person hears from one coordinator once a day, whichever of
    the two nudges came first."""
    payloads = payloads_for(people, message)
    day = now.astimezone(tz).strftime("%Y%m%d")
    return await enqueue(session, "challenge", challenge.id, people, payloads,
                         priority=PRIORITY_PERSONAL, dedup_suffix=f"nudge{viewer.id}:{day}")
