"""Staff managing a challenge: the list, editing a field, extending, closing, deleting a draft,
and the counts on its card."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.challenges.common import (
    MAX_SUBMISSIONS_LIMIT,
    check_schedule,
    check_text,
    get_challenge,
)
from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from db.models.challenges import Challenge, ChallengeOption, ChallengeParticipant, Submission


async def staff_list(session: AsyncSession) -> list[tuple[Challenge, int, int]]:
    """Every challenge with (participants, active submissions), newest first."""
    parts = dict((await session.execute(
        select(ChallengeParticipant.challenge_id, func.count())
        .group_by(ChallengeParticipant.challenge_id))).all())
    subs = dict((await session.execute(
        select(Submission.challenge_id, func.count()).where(Submission.status != "withdrawn")
        .group_by(Submission.challenge_id))).all())
    rows = (await session.scalars(select(Challenge).order_by(Challenge.id.desc()))).all()
    return [(c, parts.get(c.id, 0), subs.get(c.id, 0)) for c in rows]


EDITABLE = ("title_kk", "title_ru", "title_en", "description_kk", "description_ru",
            "description_en", "max_submissions")


async def edit_field(session: AsyncSession, challenge_id: int, field: str, value: str,
                     actor: Any) -> Challenge:
    """Drafts and open challenges only, as in bot.services.challenge_edit.editable."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":
        raise DomainError("already_judged")
    if challenge.status not in ("draft", "open"):
        raise DomainError("edit_closed", n=challenge.id)
    if field not in EDITABLE:
        raise DomainError("bad_field")
    if field == "max_submissions":
        number = typed_int(value)
        if number is None or not 1 <= number <= MAX_SUBMISSIONS_LIMIT:
            raise DomainError("bad_number", max=MAX_SUBMISSIONS_LIMIT)
        challenge.max_submissions = number
    else:
        setattr(challenge, field, check_text(field, value))
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": field})
    return challenge


async def extend(session: AsyncSession, challenge_id: int, deadline_at: datetime, actor: Any,
                 now: datetime) -> Challenge:
    """A new deadline; a challenge that closed (but has no results yet) opens again."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":
        raise DomainError("already_judged")
    check_schedule(challenge.starts_at, deadline_at, now)
    if challenge.status == "open" and deadline_at <= challenge.deadline_at:
        raise DomainError("extend_earlier")  # ending early is "Close now", which says so
    challenge.deadline_at = deadline_at
    challenge.reminders_done = []
    if challenge.status == "closed":
        challenge.status, challenge.closed_at = "open", None
    await log_activity(session, "challenge_extended", actor, "challenge", challenge_id,
                       {"deadline_at": deadline_at.isoformat()})
    return challenge


async def close(session: AsyncSession, challenge_id: int, actor: Any, now: datetime) -> bool:
    """Open -> closed exactly once, whoever (staff or the deadline tick) comes first."""
    result = await session.execute(
        update(Challenge).where(Challenge.id == challenge_id, Challenge.status == "open")
        .values(status="closed", closed_at=now).execution_options(synchronize_session=False))
    if result.rowcount == 0:
        return False
    await log_activity(session, "challenge_closed", actor, "challenge", challenge_id,
                       {"early": actor is not None})
    return True


async def delete_draft(session: AsyncSession, challenge_id: int, actor: Any) -> None:
    challenge = await get_challenge(session, challenge_id)
    if challenge.status != "draft":
        raise DomainError("not_draft")
    await session.execute(delete(ChallengeOption).where(
        ChallengeOption.challenge_id == challenge_id))
    await session.delete(challenge)
    await log_activity(session, "challenge_deleted", actor, "challenge", challenge_id)


async def counts(session: AsyncSession, challenge_id: int) -> dict[str, Any]:
    participants = await session.scalar(select(func.count()).select_from(ChallengeParticipant)
                                        .where(ChallengeParticipant.challenge_id == challenge_id))
    rows = (await session.execute(
        select(Submission.status, Submission.nomination_id, Submission.category_id,
               Submission.region_id, Submission.place)
        .where(Submission.challenge_id == challenge_id))).all()
    active = [r for r in rows if r.status != "withdrawn"]
    return {
        "participants": participants or 0,
        "by_status": Counter(r.status for r in rows),
        "by_nomination": Counter(r.nomination_id for r in active),
        "by_category": Counter(r.category_id for r in active),
        "by_region": Counter(r.region_id for r in active),
        "winners": sum(1 for r in active if r.place),
    }
