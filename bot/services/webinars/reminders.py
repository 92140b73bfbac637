"""Webinars: the reminders' rows (planned from a webinar's offsets) and taking a due one
exactly once."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Webinar, WebinarReminder

logger = logging.getLogger(__name__)

# A reminder processed this long after its due time is still "on time" even if the webinar
# has started (the at-start reminder is due exactly at the start).
LATE_GRACE = timedelta(minutes=10)


async def plan_reminders(session: AsyncSession, webinar: Webinar, now: datetime) -> None:
    """One row per offset; a future due time is (re)armed, a passed pending one is skipped."""
    existing = {r.offset_min: r for r in await session.scalars(
        select(WebinarReminder).where(WebinarReminder.webinar_id == webinar.id))}
    for offset in webinar.reminder_offsets:
        due = webinar.starts_at - timedelta(minutes=offset)
        row = existing.pop(offset, None)
        if row is None:
            row = WebinarReminder(webinar_id=webinar.id, offset_min=offset, due_at=due,
                                  status="pending" if due > now else "skipped")
            session.add(row)
            continue
        if row.due_at == due:
            continue
        row.due_at = due
        if due > now:
            row.status, row.processed_at, row.recipients = "pending", None, None
        elif row.status == "pending":
            row.status, row.processed_at = "skipped", now
    for row in existing.values():  # offsets no longer wanted
        if row.status == "pending":
            row.status = "cancelled"
    await session.flush()



async def due_reminder_ids(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(WebinarReminder.id).where(WebinarReminder.status == "pending",
                                         WebinarReminder.due_at <= now)
        .order_by(WebinarReminder.due_at, WebinarReminder.id))
    return list(rows)


@dataclass
class ClaimedReminder:
    reminder: WebinarReminder
    webinar: Webinar
    send: bool
    minutes_left: int  # what the message says; less than the offset when sent late


async def claim_reminder(session: AsyncSession, reminder_id: int,
                         now: datetime) -> ClaimedReminder | None:
    """Take a due reminder exactly once (in the caller's transaction).

    Returns None when another tick already took it. `send` is False when it is too late
    (the bot was down past the start) or the webinar is cancelled: the row is closed.
    """
    reminder = await session.get(WebinarReminder, reminder_id)
    if reminder is None or reminder.status != "pending" or reminder.due_at > now:
        return None
    webinar = await session.get(Webinar, reminder.webinar_id)
    if webinar is None:
        return None
    late = now - reminder.due_at > LATE_GRACE
    if webinar.status != "published":
        status = "cancelled"
    elif now >= webinar.starts_at and late:
        status = "skipped"
        logger.warning("webinar %s: reminder %s min before start was due at %s but the "
                       "webinar has started; skipped", webinar.id, reminder.offset_min,
                       reminder.due_at.isoformat())
    elif await session.scalar(select(WebinarReminder.id).where(
            WebinarReminder.webinar_id == webinar.id, WebinarReminder.status == "pending",
            WebinarReminder.due_at <= now, WebinarReminder.offset_min < reminder.offset_min)
            .limit(1)):
        # after a downtime several reminders can be due at once: only the latest goes out
        status = "skipped"
        logger.info("webinar %s: reminder %s min before start superseded by a later one",
                    webinar.id, reminder.offset_min)
    else:
        status = "sent"
    result = await session.execute(
        update(WebinarReminder)
        .where(WebinarReminder.id == reminder.id, WebinarReminder.status == "pending",
               WebinarReminder.due_at == reminder.due_at)
        .values(status=status, processed_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    reminder.status = status
    left = reminder.offset_min
    if late:  # say how long is really left, not what the offset promised
        left = max(0, math.ceil((webinar.starts_at - now).total_seconds() / 60))
    return ClaimedReminder(reminder, webinar, status == "sent", left)


def reminder_dedup(reminder: WebinarReminder) -> str:
    """Once per offset and due time: a moved webinar's re-armed reminder goes out again."""
    return f"{reminder.offset_min}:{int(reminder.due_at.timestamp())}"
