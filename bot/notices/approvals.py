"""Notices about people's standing: coordinator requests to staff (and their tick), the
decision to the coordinator, staff rights given or taken, a guardian's confirmation; each
built in the recipient's language and handed to the delivery queue."""

from __future__ import annotations

import html
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import ApproveCD
from bot.notices import NoticeContext
from bot.services import coordinator_requests
from bot.services.approvals import regional_approvers
from bot.services.delivery import (
    PRIORITY_PERSONAL,
    Button,
    OutgoingMessage,
    Recipient,
    enqueue,
    enqueue_personal,
)
from bot.services.guardian import Declined
from bot.services.places import PlaceDirectory
from bot.services.registration import list_staff
from bot.translator import Translator, speaking
from db.base import utcnow
from db.models import User


def describe_coordinator(translator: Translator, places: PlaceDirectory, user: User,
                         locale: str) -> str:
    region = places.region(user.region_id)
    district = places.district(user.district_id)
    with speaking(translator, locale):  # the one table of level names
        level = labels.label(labels.LEVEL, user.coordinator_level)
    return translator.t(locale, "{name}\nLevel: {level}\nRegion: {region}\nDistrict: {district}\n"
                              "Organisation: {org}",
                      name=html.escape(user.full_name or "—"), level=level,
                      region=html.escape(region.name(locale)) if region else "—",
                      district=html.escape(district.name(locale)) if district else "—",
                      org=html.escape(user.org_name or "—"))


async def notify_staff_of_request(session: AsyncSession, translator: Translator,
                                  places: PlaceDirectory, user: User, now: datetime) -> int:
    """The request's card with Approve / Reject to whoever decides it. A district
    coordinator's request goes to the regional coordinators of that region, each time
    (requests are limited per person); when the region has none, and for every other
    request, to staff, if staff had no notice about requests in the last hour; otherwise
    `coordinator_requests_tick` sums it up with the others when the hour is over (review L4)."""
    approvers = await regional_approvers(session, user)
    if approvers:
        await coordinator_requests.announced(session, user.id)  # not in the staff summary
        return await _request_card(session, translator, places, user, approvers)
    if not await coordinator_requests.claim_notice(session, now):
        return 0
    await coordinator_requests.announced(session, user.id)
    return await _request_card(session, translator, places, user, await list_staff(session))


async def _request_card(session: AsyncSession, translator: Translator, places: PlaceDirectory,
                        user: User, deciders: list[User]) -> int:
    payloads = {}
    for locale in {s.locale for s in deciders}:
        text = translator.t(locale, "New coordinator request:") + "\n\n" + \
            describe_coordinator(translator, places, user, locale)
        payloads[locale] = OutgoingMessage(text=text, html=True, buttons=[[
            Button(translator.t(locale, "✅ Approve"), ApproveCD(user_id=user.id, ok=True).pack()),
            Button(translator.t(locale, "❌ Reject"), ApproveCD(user_id=user.id, ok=False).pack()),
        ]])
    recipients = [Recipient(s.id, s.chat_id, s.locale) for s in deciders if s.chat_id]
    return await enqueue(session, "coordinator_request", user.id, recipients, payloads,
                         priority=PRIORITY_PERSONAL)


async def notify_staff_of_requests(session: AsyncSession, translator: Translator, count: int,
                                   now: datetime) -> int:
    """One notice per staff member for the requests that came while they had just been told."""
    staff = await list_staff(session)
    payloads = {locale: OutgoingMessage(text=translator.t(
        locale, "New coordinator requests waiting for your decision: {n}. /pending lists "
                "them.", n=count), html=True) for locale in {s.locale for s in staff}}
    recipients = [Recipient(s.id, s.chat_id, s.locale) for s in staff if s.chat_id]
    stamp = int(now.timestamp())
    return await enqueue(session, "coordinator_requests", None, recipients, payloads,
                         priority=PRIORITY_PERSONAL, dedup_suffix=str(stamp))


async def coordinator_requests_tick(app: NoticeContext) -> None:
    """Scheduler tick (bot.scheduler): when the quiet hour after a notice is over, sum up the
    requests that came meanwhile; drop the records of requests older than a day."""
    now = app.now()
    async with app.sessionmaker() as session:
        await coordinator_requests.forget_old(session, now)
        waiting = await coordinator_requests.unannounced(session)
        if waiting and await coordinator_requests.claim_notice(session, now):
            await notify_staff_of_requests(session, app.voice.translator, waiting, now)
            await coordinator_requests.all_announced(session)
        await session.commit()


async def notify_coordinator_decision(session: AsyncSession, translator: Translator, user: User,
                                      approved: bool, contact: str = "") -> int:
    """The applicant hears the decision; a refusal names the centre's contact, if set."""
    if not user.chat_id:
        return 0
    # Each text spelled out in a t() call so the catalog extractor finds it.
    if approved:
        text = translator.t(
            user.locale, "Your coordinator request was approved. Send /help to see your commands.")
    else:
        refusal = translator.t(
            user.locale, "Your coordinator request was not approved. If you think this is a "
                         "mistake, contact the centre: {contact}",
            contact=html.escape(contact)) if contact else translator.t(
            user.locale, "Your coordinator request was not approved.")
        text = refusal + "\n" + translator.t(
            user.locale, "To take part as a parliament member instead, erase this request with "
                         "/deleteme and register again with /start.")
    return await _tell(session, "coordinator_decision", user.id, user.chat_id, text)


async def notify_promoted(session: AsyncSession, translator: Translator, user: User) -> int:
    """Tell a person a staff member made them centre staff."""
    if not user.chat_id:
        return 0
    text = translator.t(user.locale, "You are now centre staff. Send /help to see your commands.")
    return await _tell(session, "promoted", user.id, user.chat_id, text, _each_time())


async def notify_demoted(session: AsyncSession, translator: Translator, user: User) -> int:
    """Tell a person a staff member took their staff rights away."""
    if not user.chat_id:
        return 0
    text = translator.t(user.locale, "You are no longer centre staff. Send /help to see your "
                                   "commands.")
    return await _tell(session, "demoted", user.id, user.chat_id, text, _each_time())


async def _tell(session: AsyncSession, source_type: str, user_id: int | None, chat_id: int,
                text: str, dedup_suffix: str = "") -> int:
    """One notice to one person; `user_id` names them and is the notice's source too."""
    return await enqueue_personal(session, source_type, user_id, user_id, chat_id,
                                  OutgoingMessage(text=text, html=True), dedup_suffix)


def _each_time() -> str:
    """A promotion or demotion can happen again (demoted, promoted again): each is told."""
    return utcnow().strftime("%Y%m%d%H%M%S%f")


async def notify_guardian_confirmed(session: AsyncSession, translator: Translator,
                                    user: User) -> int:
    if not user.chat_id:
        return 0
    text = translator.t(user.locale, "Your parent or guardian confirmed your account. You can now "
                                   "take part in everything, including submitting entries.")
    return await _tell(session, "guardian_confirmed", user.id, user.chat_id, text)


async def notify_guardian_declined(session: AsyncSession, translator: Translator,
                                   declined: Declined) -> int:
    """The child hears why their account is gone. Their row is anonymous by now: the notice
    is addressed to the chat alone, tied to nobody."""
    if not declined.chat_id:
        return 0
    text = translator.t(declined.locale, "Your parent or guardian did not confirm your account, "
                                         "so it was erased with all your data. You can register "
                                         "again with /start together with them.")
    return await _tell(session, "guardian_declined", None, declined.chat_id, text,
                       _each_time())
