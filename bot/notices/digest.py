"""The weekly digest: every Monday from 09:00 Asia/Almaty, last week's summary and chart to
each staff member (unless switched off), through the delivery queue.

Exactly once per week, also across restarts: the week is marked done in bot_state in the
same transaction that queues the messages, and the queue's dedup keys are per
(week, staff member), so even two ticks racing cannot queue a second copy.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.notices import NoticeContext, Voice, mark_reached, reached
from bot.services import stats as st
from bot.services.delivery import PRIORITY_BULK, OutgoingMessage, Recipient, enqueue
from bot.services.places import PlaceDirectory
from bot.services.registration import list_staff
from bot.services.stats import _
from bot.services.weekly import week_monday
from bot.translator import fmt_int

logger = logging.getLogger(__name__)
STATE_KEY = "stats.digest_week"
SEND_AT = time(9, 0)
CATCH_UP = timedelta(hours=24)


def due_week(now: datetime, tz: Any) -> datetime | None:
    """This week's Monday 09:00 (local) if it passed less than CATCH_UP ago, else None.

    A bot that was down on Monday still sends the digest within the window; a bot first
    started mid-week (or down for days) does not send a stale one."""
    local = now.astimezone(tz)
    due = datetime.combine(week_monday(now, tz), SEND_AT, tz)
    return due if due <= local < due + CATCH_UP else None


async def digest_tick(app: NoticeContext) -> int:
    """Queue this week's digest if due and not yet queued; returns the rows queued.

    The week's counts are read on the read-only connection and the charts drawn with no
    connection held; only the queueing takes the writer, for a moment."""
    due = due_week(app.now(), app.settings.tz)
    if due is None:
        return 0
    week_key = due.date().isoformat()
    async with app.sessionmaker() as session:
        if await reached(session, STATE_KEY, week_key):
            return 0
    async with app.read_session() as reader:
        staff = [s for s in await list_staff(reader)
                 if s.chat_id and not s.blocked_bot and st.digest_enabled(s.settings)]
        data = await st.collect(reader, _week_before(due, app.settings.tz), st.Scope()) \
            if staff else None
    messages = await _messages(app.voice, app.places, due, staff, data) \
        if data is not None else None
    async with app.sessionmaker() as session:
        if await reached(session, STATE_KEY, week_key):  # another tick got here first
            return 0
        queued = await _enqueue(session, due, staff, messages) if messages else 0
        await mark_reached(session, STATE_KEY, week_key)
        await session.commit()
    logger.info("weekly digest %s: %d messages queued", week_key, queued)
    return queued



def _week_before(due: datetime, tz: Any) -> st.Period:
    return st.week_of(due.date() - timedelta(days=7), tz)


Messages = tuple[dict[str, OutgoingMessage], dict[str, OutgoingMessage]]


async def _messages(voice: Voice, places: PlaceDirectory, due: datetime, staff: list[Any],
                    data: st.Stats) -> Messages:
    """The text and the chart, in each language the recipients use."""
    from bot.services import charts  # matplotlib: loaded only when a digest is due

    period = _week_before(due, voice.tz)
    texts: dict[str, OutgoingMessage] = {}
    pictures: dict[str, OutgoingMessage] = {}
    for locale in sorted({s.locale for s in staff}):
        def tr(msgid: str, locale: str = locale) -> str:
            return voice.t(locale, msgid)

        name = st.place_namer(places, locale)
        text = st.render_text(data, tr, lambda v, loc=locale: fmt_int(v, loc), name)
        footer = tr(_("Weekly report. To stop receiving it, send /digest off."))
        texts[locale] = OutgoingMessage(text=f"{text}\n\n<i>{footer}</i>", html=True)
        png = await asyncio.to_thread(charts.stats_chart, data, tr, name)
        pictures[locale] = OutgoingMessage(
            kind="document", text=tr(_("Statistics: {period}")).format(period=period.label()),
            document_bytes_b64=base64.b64encode(png).decode(),
            filename=f"stats_{period.first_day.isoformat()}.png")
    return texts, pictures


async def _enqueue(session: AsyncSession, due: datetime, staff: list[Any],
                   messages: Messages) -> int:
    texts, pictures = messages
    recipients = [Recipient(s.id, s.chat_id, s.locale) for s in staff]
    source_id = int(due.strftime("%Y%m%d"))
    queued = await enqueue(session, "digest", source_id, recipients, texts, PRIORITY_BULK,
                           dedup_suffix="text")
    queued += await enqueue(session, "digest", source_id, recipients, pictures, PRIORITY_BULK,
                            dedup_suffix="chart")
    return queued
