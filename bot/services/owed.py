"""Messages owed in full (issue 16): what went out only in part is brought whole later.

Outside WhatsApp's 24-hour window a person gets an approved template instead of the message
(bot.notices.templates): at most 850 characters of the text on one line, an album's first
photo, no buttons but the acknowledgement, no other file. The delivery worker then notes the
row as owed (`owed_messages`, written with its "sent"). When the person next writes or
presses a button, their window is open again, and `bring` queues each owed message once
more, whole, from its own stored payload: in the order they were sent, ahead of the bulk,
once (a new row with its own dedup key; the notes go in the same transaction) — but not a
webinar's reminder or change once the webinar is over. Notes older than KEEP are dropped
(`purge`, hourly), and so are a person's by /deleteme (bot.services.delivery.
forget_messages) and with their delivery rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.delivery import PRIORITY_PERSONAL
from db.models import Delivery, OwedMessage, User, Webinar
from db.upserts import insert_for

KEEP = timedelta(days=7)  # a message older than this is news no more: not brought
# a webinar's reminders and changes ("starts in 1 hour", "I'm here") mean nothing once it is over
WEBINAR_SOURCES = ("webinar_reminder", "webinar_change", "webinar_cancel")
FULL = "full_message"  # the source_type of a message brought whole (source_id: its first row)


async def bring(session: AsyncSession, chat_id: int, linked_user: int | None,
                now: datetime) -> int:
    """Queue the messages owed to the person who just wrote in chat `chat_id` (a WhatsApp
    contact's -id), and forget the notes. Only rows to this chat for the person behind it
    now count: the WhatsApp-only person (users.tg_id = chat_id) or the one it is linked to
    (`linked_user`); a chat parted by /unlink gets nothing of theirs. Returns rows queued."""
    o, d = OwedMessage.__table__, Delivery.__table__
    person = select(User.id).where(or_(User.tg_id == chat_id, User.id == linked_user))
    owed = (await session.execute(
        select(d.c.id, d.c.user_id, d.c.channel, d.c.payload_id, d.c.source_type,
               d.c.source_id)
        .join(o, o.c.delivery_id == d.c.id)
        .where(o.c.chat_id == chat_id, o.c.created_at > now - KEEP, d.c.chat_id == chat_id,
               d.c.status == "sent", d.c.user_id.in_(person))
        .order_by(o.c.created_at, o.c.delivery_id))).all()
    await session.execute(delete(o).where(o.c.chat_id == chat_id))
    over = await _webinars_over(session, {row.source_id for row in owed
                                          if row.source_type in WEBINAR_SOURCES}, now)
    owed = [row for row in owed
            if not (row.source_type in WEBINAR_SOURCES and row.source_id in over)]
    if not owed:
        return 0
    rows = [{"dedup_key": f"{FULL}:{row.id}::{row.user_id}", "source_type": FULL,
             "source_id": row.id, "user_id": row.user_id, "chat_id": chat_id,
             "channel": row.channel, "payload_id": row.payload_id,
             "priority": PRIORITY_PERSONAL, "status": "queued", "attempts": 0,
             "next_attempt_at": now, "created_at": now} for row in owed]
    # executemany keeps their order in the ids, and the worker sends by id at one priority
    stmt = insert_for(session)(d).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await session.execute(stmt.returning(d.c.id), rows)
    return len(result.all())


async def purge(session: AsyncSession, now: datetime) -> int:
    """Drop the notes of messages sent more than KEEP ago."""
    result = await session.execute(delete(OwedMessage).where(
        OwedMessage.created_at <= now - KEEP))
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]



async def _webinars_over(session: AsyncSession, ids: set[int], now: datetime) -> set[int]:
    """Those of the webinars `ids` that have ended (or are gone)."""
    if not ids:
        return set()
    running = {wid for wid, starts, minutes in (await session.execute(
        select(Webinar.id, Webinar.starts_at, Webinar.duration_min)
        .where(Webinar.id.in_(ids)))).all() if starts + timedelta(minutes=minutes) > now}
    return ids - running
