"""Challenge notices: the announcement, a reviewer's decision, deadline reminders, the school
invitation, the results, the jury invitation; each built in the recipient's language. The
services (bot.services.challenges, jury, challenge_edit) decide who hears them and queue
them; the deadline tick is here.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime

from bot.callbacks import ChallengeCD
from bot.notices import NoticeContext, Voice
from bot.services import challenges as svc
from bot.services.delivery import Button, OutgoingMessage
from bot.services.text import CAPTION_LIMIT, cut_plain, seen_length
from bot.translator import N_
from db.models.challenges import Challenge

logger = logging.getLogger(__name__)


def challenge_cb(action: str, challenge_id: int, arg: str = "") -> str:
    """A button's callback data for the participants' side (handlers/challenges)."""
    return ChallengeCD(action=action, id=challenge_id, arg=arg).pack()


def _local(voice: Voice, moment: datetime) -> str:
    return moment.astimezone(voice.tz).strftime("%d.%m.%Y %H:%M")


# A reviewer's reasons and the places, as the services store them.
REASONS = {
    "off_topic": N_("The entry does not match the topic."),
    "quality": N_("The quality is too low to assess the entry."),
    "incomplete": N_("The entry is incomplete."),
    "duplicate": N_("The same entry was already sent."),
    "rules": N_("The entry breaks the rules of the challenge."),
}
PLACES = {"grand_prix": N_("Grand Prix"), "1": N_("1st place"), "2": N_("2nd place"),
          "3": N_("3rd place"), "diploma": N_("Diploma")}


def reason_text(voice: Voice, locale: str, reason: str | None) -> str:
    return voice.label(locale, REASONS, reason, reason or "—")  # a free-text reason as typed


def place_text(voice: Voice, locale: str, place: str | None) -> str:
    return voice.label(locale, PLACES, place)


def result_text(voice: Voice, challenge: Challenge, locale: str, outcome: str) -> str:
    title = html.escape(challenge.text("title", locale))
    if outcome == "none":
        return voice.t(locale, "The results of “{title}” are out. Thank you for taking part! "
                               "Your work matters, and we hope to see you in the next one.",
                       title=title)
    return voice.t(locale, "🏆 Congratulations! The results of “{title}” are out: you won "
                           "<b>{place}</b>.", title=title,
                   place=place_text(voice, locale, outcome))


class ChallengeNotices:
    """bot.services.challenges.Notices in the voice of the bot."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self.tz = voice.tz

    def announcement(self, challenge: Challenge, locale: str) -> OutgoingMessage:
        t = self.voice.t
        if challenge.kind == "contest":
            kind = t(locale, "New contest")
        elif challenge.kind == "action":
            kind = t(locale, "New action")
        else:
            kind = t(locale, "New challenge")

        def text_with(description: str) -> str:
            return t(locale, "📣 {kind}: <b>{title}</b>\n\n{description}\n\nDeadline: {deadline}",
                     kind=kind, title=html.escape(challenge.text("title", locale)),
                     description=html.escape(description),
                     deadline=_local(self.voice, challenge.deadline_at))

        description = challenge.text("description", locale)
        buttons = [[Button(t(locale, "Open"), challenge_cb("card", challenge.id))]]
        if challenge.cover_file_id:
            # a caption holds 1,024 characters: the description (plain, before escaping, so no
            # entity is cut in half) gives way, the deadline stays; "Open" shows all of it
            room = CAPTION_LIMIT - seen_length(text_with(""))
            return OutgoingMessage(kind="photo", file_id=challenge.cover_file_id,
                                   text=text_with(cut_plain(description, max(room, 1))),
                                   html=True, buttons=buttons)
        return OutgoingMessage(text=text_with(description), html=True, buttons=buttons)

    def decision(self, submission_id: int, challenge: Challenge, locale: str, approved: bool,
                 reason: str | None) -> OutgoingMessage:
        title = html.escape(challenge.text("title", locale))
        if approved:
            text = self.voice.t(locale, "✅ Your entry No. {n} to “{title}” was approved.",
                                n=submission_id, title=title)
        else:
            text = self.voice.t(locale, "Your entry No. {n} to “{title}” was not accepted. "
                                "Reason: {reason}", n=submission_id, title=title,
                                reason=html.escape(reason_text(self.voice, locale, reason)))
        return OutgoingMessage(text=text, html=True)

    def reminder(self, challenge: Challenge, locale: str, now: datetime) -> OutgoingMessage:
        days = svc.days_left(challenge, now)
        text = self.voice.tn(locale, "⏰ Reminder: “{title}” closes in {days} day ({deadline}). "
                                     "You joined but have not sent your entry yet.",
                             "⏰ Reminder: “{title}” closes in {days} days ({deadline}). "
                             "You joined but have not sent your entry yet.", days,
                             title=html.escape(challenge.text("title", locale)), days=days,
                             deadline=_local(self.voice, challenge.deadline_at))
        return OutgoingMessage(text=text, html=True, buttons=[[Button(
            self.voice.t(locale, "Send my entry"), challenge_cb("submit", challenge.id))]])

    def school_invite(self, challenge: Challenge, locale: str) -> OutgoingMessage:
        text = self.voice.t(locale, "📣 “{title}” is open until {deadline}, and your school "
                                    "has no entry yet. Take part!",
                            title=html.escape(challenge.text("title", locale)),
                            deadline=_local(self.voice, challenge.deadline_at))
        return OutgoingMessage(text=text, html=True, buttons=[[Button(
            self.voice.t(locale, "Open"), challenge_cb("card", challenge.id))]])

    def result(self, challenge: Challenge, locale: str, outcome: str) -> OutgoingMessage:
        return OutgoingMessage(text=result_text(self.voice, challenge, locale, outcome),
                               html=True)

    def jury_invitation(self, challenge: Challenge, locale: str) -> OutgoingMessage:
        t = self.voice.t
        text = t(locale, "⚖️ You are on the jury of “{title}”. Press the button to see "
                         "the entries; score each criterion from 0 to 10.",
                 title=html.escape(challenge.text("title", locale))) + "\n" + \
            t(locale, "If this message gets lost, /judge brings you back to the entries.")
        return OutgoingMessage(text=text, html=True, buttons=[[Button(
            t(locale, "Start judging"), challenge_cb("jury", challenge.id))]])


async def challenges_tick(app: NoticeContext) -> None:
    """Announce what started, close what is due, remind who joined but has not submitted."""
    notices = ChallengeNotices(app.voice)
    now = app.now()
    async with app.sessionmaker() as session:
        for challenge_id in await svc.due_to_close(session, now):
            if await svc.close(session, challenge_id, None, now):
                logger.info("challenge %s closed at its deadline", challenge_id)
        await session.commit()
        for challenge in await svc.due_to_announce(session, now):
            await svc.announce(session, notices, challenge, now)
            await session.commit()
        await svc.remind_due(session, notices, now)
        await session.commit()
