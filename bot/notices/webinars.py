"""Webinar notices (reminders, announcements, time changes, cancellations), built per
recipient's language and handed to the delivery queue; and the reminder tick."""

from __future__ import annotations

import html
import logging
import time
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import WebinarCD
from bot.notices import NoticeContext, Voice
from bot.services import webinars as svc
from bot.services.delivery import (
    PRIORITY_BULK,
    PRIORITY_PERSONAL,
    Button,
    OutgoingMessage,
    enqueue_select,
)
from bot.translator import fmt_dt
from db.models import Webinar, WebinarReminder

logger = logging.getLogger(__name__)


def when_text(voice: Voice, locale: str, webinar: Webinar) -> str:
    return voice.t(locale, "{time} (Almaty time)",
                   time=fmt_dt(webinar.starts_at, locale, voice.tz))


def offset_text(voice: Voice, locale: str, minutes: int) -> str:
    if minutes >= 2880 and minutes % 1440 == 0:
        return voice.t(locale, "{n} d", n=minutes // 1440)
    if minutes % 60 == 0:
        return voice.t(locale, "{n} h", n=minutes // 60)
    if minutes > 60:
        return voice.t(locale, "{h} h {m} min", h=minutes // 60, m=minutes % 60)
    return voice.t(locale, "{n} min", n=minutes)


def join_buttons(voice: Voice, locale: str, webinar: Webinar, here: bool) -> list[list[Button]]:
    rows = [[Button(voice.t(locale, "🔗 Join"), url=webinar.join_url)]]
    if here:
        rows.append([Button(voice.t(locale, "✋ I'm here"),
                            WebinarCD(action="here", id=webinar.id).pack())])
    return rows


def reminder_message(voice: Voice, locale: str, webinar: Webinar, offset: int) -> OutgoingMessage:
    title = html.escape(webinar.text("title", locale))
    if offset == 0:
        head = voice.t(locale, "🔔 The webinar «{title}» is starting now.", title=title)
    else:
        head = voice.t(locale, "⏰ Reminder: the webinar «{title}» starts in {left}.",
                       title=title, left=offset_text(voice, locale, offset))
    text = "\n".join([
        head, "",
        voice.t(locale, "Start: {when}", when=when_text(voice, locale, webinar)),
        voice.t(locale, "Link to join: {url}", url=html.escape(webinar.join_url)),
    ])
    here = offset * 60 <= svc.ATTEND_BEFORE.total_seconds()
    if here:
        text += "\n\n" + voice.t(locale, "When you join, press “I'm here” so your "
                                         "attendance is counted.")
    return OutgoingMessage(text=text, html=True, link_preview=False,
                           buttons=join_buttons(voice, locale, webinar, here))


async def enqueue_reminder(session: AsyncSession, voice: Voice, webinar: Webinar,
                           reminder: WebinarReminder, minutes_left: int) -> int:
    """Queue one reminder for every registrant who had registered by its due time."""
    people = svc.registrant_contacts(webinar.id, before=reminder.due_at)
    payloads = voice.by_locale(lambda loc: reminder_message(voice, loc, webinar, minutes_left))
    return await enqueue_select(session, svc.REMINDER_SOURCE, webinar.id, people, payloads,
                                priority=PRIORITY_PERSONAL,
                                dedup_suffix=svc.reminder_dedup(reminder))


async def webinar_reminders_tick(app: NoticeContext) -> int:
    """Every due reminder, each taken exactly once; returns how many messages were queued."""
    now = app.now()
    async with app.sessionmaker() as session:
        due = await svc.due_reminder_ids(session, now)
    queued = 0
    for reminder_id in due:
        started = time.perf_counter()
        async with app.sessionmaker() as session, session.begin():
            claimed = await svc.claim_reminder(session, reminder_id, now)
            if claimed is None or not claimed.send:
                continue
            count = await enqueue_reminder(session, app.voice, claimed.webinar, claimed.reminder,
                                           claimed.minutes_left)
            claimed.reminder.recipients = count
        queued += count
        logger.info("webinar %s: reminder %s min before start queued for %d people in %.3f s",
                    claimed.webinar.id, claimed.reminder.offset_min, count,
                    time.perf_counter() - started)
    return queued


def announce_message(voice: Voice, locale: str, webinar: Webinar) -> OutgoingMessage:
    text = "\n".join([
        voice.t(locale, "📣 New webinar: «{title}»",
                title=html.escape(webinar.text("title", locale))),
        voice.t(locale, "Start: {when}", when=when_text(voice, locale, webinar)),
        "",
        html.escape(webinar.text("description", locale)[:700]),
    ])
    return OutgoingMessage(text=text, html=True, buttons=[[
        Button(voice.t(locale, "✅ Register"), WebinarCD(action="reg", id=webinar.id).pack()),
        Button(voice.t(locale, "More"), WebinarCD(action="open", id=webinar.id).pack()),
    ]])


async def announce(session: AsyncSession, voice: Voice, webinar: Webinar) -> int:
    payloads = voice.by_locale(lambda loc: announce_message(voice, loc, webinar))
    return await enqueue_select(session, "webinar_announce", webinar.id,
                                svc.audience_contacts(webinar.audience), payloads,
                                priority=PRIORITY_BULK)


async def notify_time_change(session: AsyncSession, voice: Voice, webinar: Webinar,
                             old_start: datetime) -> int:
    def build(loc: str) -> OutgoingMessage:
        text = "\n".join([
            voice.t(loc, "🕒 The time of the webinar «{title}» has changed.",
                    title=html.escape(webinar.text("title", loc))),
            voice.t(loc, "Was: {old}", old=fmt_dt(old_start, loc, voice.tz)),
            voice.t(loc, "Now: {when}", when=when_text(voice, loc, webinar)),
            voice.t(loc, "Your registration stays; reminders will come at the new time."),
        ])
        return OutgoingMessage(text=text, html=True, buttons=[[
            Button(voice.t(loc, "📅 Add to calendar"),
                   WebinarCD(action="ics", id=webinar.id).pack())]])

    return await enqueue_select(session, "webinar_change", webinar.id,
                                svc.registrant_contacts(webinar.id), voice.by_locale(build),
                                priority=PRIORITY_PERSONAL,
                                dedup_suffix=f"time:{int(webinar.starts_at.timestamp())}")


async def notify_cancelled(session: AsyncSession, voice: Voice, webinar: Webinar) -> int:
    def build(loc: str) -> OutgoingMessage:
        return OutgoingMessage(html=True, text=voice.t(
            loc, "❌ The webinar «{title}» planned for {when} has been cancelled. "
                      "We are sorry for the inconvenience.",
            title=html.escape(webinar.text("title", loc)), when=when_text(voice, loc, webinar)))

    return await enqueue_select(session, "webinar_cancel", webinar.id,
                                svc.registrant_contacts(webinar.id), voice.by_locale(build),
                                priority=PRIORITY_PERSONAL, dedup_suffix="cancel")
