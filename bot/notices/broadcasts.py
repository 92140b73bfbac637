"""Broadcast notices: the announcement's per-locale payloads (with their acknowledge and
forward buttons), the nudge to who has not confirmed, the author's progress and report, and
the tick that starts scheduled broadcasts and keeps their authors informed.

handlers/broadcast holds the conversation and calls these same functions.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from bot import labels
from bot.callbacks import BroadcastAckCD, BroadcastCD, BroadcastFwdCD
from bot.notices import NoticeContext, Voice
from bot.services import broadcasts as svc
from bot.services.delivery import DEFAULT_CHANNEL, Button, OutgoingMessage
from bot.services.places import PlaceDirectory
from bot.translator import N_, fmt_int, speaking
from db.models import Broadcast, User

logger = logging.getLogger(__name__)
AUTHOR_CHANNEL = DEFAULT_CHANNEL  # where authors compose, and follow their progress


ACK_LABELS = {"received": N_("✅ Received"), "done": N_("✅ Done")}
# an audience as the author chose it: a whole group, or one value of a table of bot.labels
AUDIENCE_GROUPS = {"all": N_("everyone"), "students": N_("students"),
                   "coordinators": N_("coordinators")}
AUDIENCE_VALUES = {"org": (N_("organisation type: {value}"), labels.ORG_TYPE),
                   "faction": (N_("faction: {value}"), labels.FACTION),
                   "position": (N_("position: {value}"), labels.POSITION)}


# --- what the recipients get --------------------------------------------------------------
def message_of(content: dict[str, Any], buttons: list[list[Button]],
               ack: str | None = None) -> OutgoingMessage:
    fields = {k: content.get(k) for k in ("kind", "text", "entities", "file_id", "media")}
    return OutgoingMessage(**fields, buttons=[] if content["kind"] == "album" else buttons,
                           link_preview=content.get("link_preview", True), ack=ack)


def button_rows(voice: Voice, locale: str, bc_id: int, ack: str | None,
                forward: bool) -> list[list[Button]]:
    """Callbacks name the broadcast so presses are checked."""
    rows = []
    if ack:
        rows.append([Button(voice.t(locale, ACK_LABELS[ack]), BroadcastAckCD(id=bc_id).pack())])
    if forward:
        rows.append([Button(voice.t(locale, "↪️ Forward to my people"),
                            BroadcastFwdCD(id=bc_id).pack())])
    return rows


def followup_text(voice: Voice, locale: str, ack: str | None) -> str:
    if ack:
        return voice.t(locale, "⬆️ Please confirm that you have read the announcement above.")
    return voice.t(locale, "⬆️ You can forward the announcement above to your people.")


def build_payloads(voice: Voice, bc: Broadcast) -> tuple[dict[str, OutgoingMessage],
                                                         dict[str, OutgoingMessage]]:
    """(payloads, album follow-ups) by payload key: locale, and locale|c for coordinators
    of a cascading broadcast (who get "Forward to my people")."""
    payloads: dict[str, OutgoingMessage] = {}
    followups: dict[str, OutgoingMessage] = {}
    variants = (False, True) if bc.cascade else (False,)
    for locale in voice.locales:
        for forward in variants:
            key = locale + ("|c" if forward else "")
            rows = button_rows(voice, locale, bc.id, bc.ack, forward)
            payloads[key] = message_of(bc.content, rows, bc.ack)
            if bc.content["kind"] == "album" and rows:
                followups[key] = OutgoingMessage(text=followup_text(voice, locale, bc.ack),
                                                 buttons=rows, ack=bc.ack)
    return payloads, followups


def nudge_message(voice: Voice, locale: str, bc: Broadcast) -> OutgoingMessage:
    excerpt = (bc.content.get("text") or "").strip()
    if not excerpt and bc.content.get("media"):
        excerpt = (bc.content["media"][0].get("caption") or "").strip()
    if len(excerpt) > 200:
        excerpt = excerpt[:200] + "…"
    if bc.ack == "done":
        text = voice.t(locale, "🔔 Reminder: please press “✅ Done” below once you have done "
                               "what the announcement asks.")
    else:
        text = voice.t(locale, "🔔 Reminder: please confirm that you have read the "
                               "announcement.")
    if excerpt:
        text += "\n\n«" + excerpt + "»"
    return OutgoingMessage(text=text, buttons=button_rows(voice, locale, bc.id, bc.ack, False),
                           ack=bc.ack)


def nudge_payloads(voice: Voice, bc: Broadcast) -> dict[str, OutgoingMessage]:
    return voice.by_locale(lambda locale: nudge_message(voice, locale, bc))


# --- what the author sees -----------------------------------------------------------------
def audience_label(voice: Voice, locale: str, audience: str) -> str:
    kind, _sep, value = audience.partition(":")
    if kind in AUDIENCE_GROUPS:
        return voice.t(locale, AUDIENCE_GROUPS[kind])
    if kind in AUDIENCE_VALUES:
        msgid, table = AUDIENCE_VALUES[kind]
        with speaking(voice.translator, locale):  # bot.labels' tables speak it too
            return voice.t(locale, msgid, value=labels.label(table, value))
    provider = svc.PROVIDERS.get(kind)
    name = voice.t(locale, provider.label) if provider else kind
    return f"{name} #{value}" if value else name


def area_label(voice: Voice, places: PlaceDirectory, locale: str, region_id: int | None,
               district_id: int | None) -> str:
    if district_id:
        place = places.district(district_id)
        return place.name(locale) if place else "—"
    if region_id:
        place = places.region(region_id)
        return place.name(locale) if place else "—"
    return voice.t(locale, "the whole country")


def duration(voice: Voice, locale: str, seconds: int) -> str:
    if seconds < 60:
        return voice.t(locale, "{n} s", n=seconds)
    return voice.t(locale, "{n} min", n=(seconds + 59) // 60)


def progress_text(voice: Voice, bc: Broadcast, p: svc.Progress, rate: float | None) -> str:
    loc = bc.locale
    lines = [voice.t(loc, "📣 Announcement #{id}: sending", id=bc.id),
             voice.t(loc, "Sent: {sent} of {total}", sent=fmt_int(p.sent, loc),
                     total=fmt_int(p.total, loc)),
             voice.t(loc, "Failed: {n}", n=fmt_int(p.failed, loc)),
             voice.t(loc, "Blocked the bot: {n}", n=fmt_int(p.blocked, loc)),
             voice.t(loc, "Remaining: {n}", n=fmt_int(p.remaining, loc)),
             voice.t(loc, "Time left: about {time}", time=duration(
                 voice, loc, svc.eta_seconds(p.remaining, rate)))]
    return "\n".join(lines)


def report_text(voice: Voice, places: PlaceDirectory, bc: Broadcast, p: svc.Progress,
                acks: int | None) -> str:
    loc = bc.locale
    head = (voice.t(loc, "📣 Announcement #{id}: cancelled", id=bc.id)
            if bc.status == "cancelled"
            else voice.t(loc, "📣 Announcement #{id}: finished", id=bc.id))
    lines = [head,
             voice.t(loc, "Audience: {audience}, {area}",
                     audience=audience_label(voice, loc, bc.audience),
                     area=html.escape(area_label(voice, places, loc, bc.region_id,
                                                 bc.district_id))),
             voice.t(loc, "Recipients: {n}", n=fmt_int(p.total, loc)),
             voice.t(loc, "Delivered: {n}", n=fmt_int(p.sent, loc)),
             voice.t(loc, "Blocked the bot: {n}", n=fmt_int(p.blocked, loc)),
             voice.t(loc, "Failed: {n}", n=fmt_int(p.failed, loc))]
    if p.cancelled:
        lines.append(voice.t(loc, "Not sent (cancelled): {n}", n=fmt_int(p.cancelled, loc)))
    if acks is not None:
        lines.append(voice.t(loc, "Confirmed: {n} of {total}", n=fmt_int(acks, loc),
                             total=fmt_int(p.sent, loc)))
    return "\n".join(lines)


def progress_buttons(voice: Voice, locale: str, bc_id: int) -> list[list[Button]]:
    return [[Button(voice.t(locale, "✖ Stop sending"),
                    BroadcastCD(action="stop", value=str(bc_id)).pack())]]


def report_buttons(voice: Voice, locale: str, bc: Broadcast) -> list[list[Button]]:
    if not bc.ack:
        return []
    return [[Button(voice.t(locale, "📊 Confirmations"),
                    BroadcastCD(action="acks", value=str(bc.id)).pack())]]


# --- the tick -----------------------------------------------------------------------------
async def broadcasts_tick(app: NoticeContext) -> None:
    """Start scheduled broadcasts that are due, update progress messages, send reports.

    Idempotent: starting queues with dedup keys; texts are edited only when they change.
    """
    now = app.now()
    started: list[int] = []
    async with app.sessionmaker() as session:
        for bc in await svc.due_scheduled(session, now):
            payloads, followups = build_payloads(app.voice, bc)
            await svc.start(session, bc, payloads, followups, now,
                            app.settings.whatsapp_daily_limit)
            started.append(bc.id)
        await session.commit()
    todo = []
    async with app.read_session() as reader:  # counting 100,000 deliveries takes a while
        for bc in await svc.running(reader):
            p = await svc.progress(reader, bc.id)
            author = await reader.get(User, bc.author_id) if bc.author_id else None
            acks = (await svc.ack_counts(reader, [bc.id])).get(bc.id, 0) if bc.ack else None
            todo.append((bc, p, author.chat_id if author else None, acks))
    finished = [bc.id for bc, p, _chat, _acks in todo if p.finished]
    if finished:
        async with app.sessionmaker() as session:
            for bc in await svc.running(session):
                if bc.id in finished:
                    await svc.finish(session, bc, now)
            await session.commit()
    for bc, p, chat_id, acks in todo:  # no session is held while we talk to the messenger
        await _show(app, bc, p, chat_id, acks, bc.id in started)


def author_view(app: NoticeContext, bc: Broadcast, p: svc.Progress,
                acks: int | None) -> OutgoingMessage:
    """The author's progress message, or the report once the broadcast is over."""
    voice = app.voice
    if p.finished:
        return OutgoingMessage(text=report_text(voice, app.places, bc, p, acks),
                               buttons=report_buttons(voice, bc.locale, bc),
                               html=True, link_preview=False)
    return OutgoingMessage(text=progress_text(voice, bc, p, app.settings.delivery_rate),
                           buttons=progress_buttons(voice, bc.locale, bc.id),
                           html=True, link_preview=False)


async def _show(app: NoticeContext, bc: Broadcast, p: svc.Progress, chat_id: int | None,
                acks: int | None, just_started: bool) -> None:
    if chat_id is None:
        return
    shown = app.progress_shown
    channel = app.channels[AUTHOR_CHANNEL]
    view = author_view(app, bc, p, acks)
    text = view.text or ""
    try:
        if bc.progress_message_id is None or just_started:
            sent = await channel.send(chat_id, view)
            async with app.sessionmaker() as session, session.begin():
                row = await session.get(Broadcast, bc.id)
                if row is not None:
                    row.progress_chat_id, row.progress_message_id = chat_id, sent
        elif shown.get(bc.id) != text:
            if channel.can_edit:  # else progress is told in new messages
                edited = OutgoingMessage(text=text, buttons=[] if p.finished else view.buttons,
                                         html=True, link_preview=False)
                await channel.edit(bc.progress_chat_id or chat_id, bc.progress_message_id,
                                   edited)
            if p.finished or not channel.can_edit:
                await channel.send(chat_id, view)
        shown[bc.id] = text
    except Exception as exc:  # the author may have blocked the bot; the broadcast goes on
        logger.warning("progress of broadcast %s not shown: %s", bc.id, exc)
    if p.finished:
        shown.pop(bc.id, None)
