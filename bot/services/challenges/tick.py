"""What the deadline tick does (bot.notices.challenges.challenges_tick): which challenges
close, which start and are announced, and who is reminded before the deadline."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.challenges.common import REMINDER_DAYS, Notices
from bot.services.delivery import PRIORITY_PERSONAL, Recipient, enqueue, payloads_for
from bot.services.guardian import CONFIRMED
from db.models import User
from db.models.challenges import Challenge, ChallengeParticipant, Submission


async def due_to_close(session: AsyncSession, now: datetime) -> list[int]:
    return list((await session.scalars(select(Challenge.id).where(
        Challenge.status == "open", Challenge.deadline_at <= now))).all())


async def due_to_announce(session: AsyncSession, now: datetime) -> list[Challenge]:
    """Open challenges whose start has come and that were not announced yet."""
    return list((await session.scalars(select(Challenge).where(
        Challenge.status == "open", Challenge.announced_at.is_(None),
        Challenge.starts_at <= now, Challenge.deadline_at > now))).all())


async def remind_due(session: AsyncSession, notices: Notices, now: datetime) -> None:
    """Remind who joined but has not submitted, REMINDER_DAYS before the deadline."""
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    rows = (await session.scalars(select(Challenge).where(
        Challenge.status == "open", Challenge.starts_at <= now, Challenge.deadline_at > now,
        Challenge.deadline_at <= horizon))).all()
    for challenge in rows:
        if not challenge.content_kinds:
            continue
        due = [d for d in REMINDER_DAYS if challenge.deadline_at - timedelta(days=d) <= now
               and d not in (challenge.reminders_done or [])]
        if not due:
            continue
        day = min(due)  # one reminder now even if several thresholds were crossed at once
        submitted = select(Submission.user_id).where(
            Submission.challenge_id == challenge.id, Submission.status != "withdrawn")
        people = (await session.execute(
            select(User.id, User.chat_id, User.locale)
            .join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
            .where(ChallengeParticipant.challenge_id == challenge.id,
                   User.chat_id.is_not(None), User.status == "active", CONFIRMED,
                   User.id.not_in(submitted)))).all()
        recipients = [Recipient(uid, chat, loc) for uid, chat, loc in people]
        payloads = payloads_for(recipients, partial(notices.reminder, challenge, now=now))
        await enqueue(session, "challenge", challenge.id, recipients, payloads,
                      priority=PRIORITY_PERSONAL, dedup_suffix=f"remind{day}")
        challenge.reminders_done = sorted({*(challenge.reminders_done or []),
                                           *[d for d in REMINDER_DAYS if d >= day]})
