"""The weekly report's reminder: at WEEKLY_REMINDER (default Friday 16:00 Almaty time) each
active coordinator who has not filed this week's report gets a reminder with a button that
opens the form, through the delivery queue.

Once per week, also across restarts: the week is marked done in bot_state in the same
transaction that queues the messages, and the queue's dedup keys are per (week, person). A
bot that was down at the reminder's time still sends it later in the same week; never in
the next one.
"""

from __future__ import annotations

import logging

from bot.callbacks import WeekCD
from bot.notices import NoticeContext, Voice, mark_reached, reached
from bot.services import weekly as svc
from bot.services.delivery import PRIORITY_BULK, Button, OutgoingMessage, enqueue_select

logger = logging.getLogger(__name__)
STATE_KEY = "weekly.reminder_week"
SOURCE = "weekly_reminder"


def reminder_message(voice: Voice, locale: str) -> OutgoingMessage:
    text = "\n".join([
        voice.t(locale, "📝 Weekly report: how did the week go in your area?"),
        voice.t(locale, "Tell the centre how many events you held offline this week and how "
                        "many people took part. It takes a minute."),
        # a WhatsApp template outside the 24 hours carries the text, not the button
        voice.t(locale, "The button below or /week opens the form."),
    ])
    return OutgoingMessage(text=text, buttons=[[
        Button(voice.t(locale, "📝 Fill in the weekly report"),
               WeekCD(action="start").pack())]])


async def weekly_reminder_tick(app: NoticeContext) -> int:
    """Queue this week's reminder if due and not yet queued; returns the rows queued."""
    tz = app.settings.tz
    now = app.now()
    week = svc.week_monday(now, tz)
    due = svc.reminder_time(app.settings.weekly_reminder, week, tz)
    if due is None or not due <= now.astimezone(tz) < svc.week_end(week, tz):
        return 0
    key = week.isoformat()
    async with app.sessionmaker() as session:
        if await reached(session, STATE_KEY, key):
            return 0
        queued = await enqueue_select(
            session, SOURCE, int(week.strftime("%Y%m%d")), svc.not_filed(week),
            app.voice.by_locale(lambda loc: reminder_message(app.voice, loc)),
            priority=PRIORITY_BULK, dedup_suffix=key)
        await mark_reached(session, STATE_KEY, key)
        await session.commit()
    logger.info("weekly report reminder %s: %d coordinators reminded", key, queued)
    return queued

