"""Messages the bot sends to people other than the one talking, built per recipient's
language and handed to the delivery queue."""

from __future__ import annotations

import html

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ApproveCD
from bot.services.delivery import (
    PRIORITY_PERSONAL,
    Button,
    OutgoingMessage,
    Recipient,
    enqueue,
)
from bot.services.registration import list_staff
from db.models import User


def describe_coordinator(app: object, user: User, locale: str) -> str:
    places = app.places  # type: ignore[attr-defined]
    region = places.region(user.region_id)
    district = places.district(user.district_id)
    level = {"regional": app.i18n.t(locale, "Regional level"),
             "district": app.i18n.t(locale, "District (city) level")}.get(
        user.coordinator_level or "", "—")
    return app.i18n.t(locale, "{name}\nLevel: {level}\nRegion: {region}\nDistrict: {district}\n"
                              "Organisation: {org}",
                      name=html.escape(user.full_name or "—"), level=level,
                      region=html.escape(region.name(locale)) if region else "—",
                      district=html.escape(district.name(locale)) if district else "—",
                      org=html.escape(user.org_name or "—"))


async def notify_staff_of_request(session: AsyncSession, app: object, user: User) -> int:
    staff = await list_staff(session, app.settings.staff_ids)  # type: ignore[attr-defined]
    payloads = {}
    for locale in {s.locale for s in staff}:
        text = app.i18n.t(locale, "New coordinator request:") + "\n\n" + \
            describe_coordinator(app, user, locale)
        payloads[locale] = OutgoingMessage(text=text, html=True, buttons=[[
            Button(app.i18n.t(locale, "✅ Approve"), ApproveCD(user_id=user.id, ok=True).pack()),
            Button(app.i18n.t(locale, "❌ Reject"), ApproveCD(user_id=user.id, ok=False).pack()),
        ]])
    recipients = [Recipient(s.id, s.chat_id, s.locale) for s in staff if s.chat_id]
    return await enqueue(session, "coordinator_request", user.id, recipients, payloads,
                         priority=PRIORITY_PERSONAL)


async def notify_coordinator_decision(session: AsyncSession, app: object, user: User,
                                      approved: bool) -> int:
    if not user.chat_id:
        return 0
    # Each text spelled out in an i18n.t() call so the catalog extractor finds it.
    if approved:
        text = app.i18n.t(
            user.locale, "Your coordinator request was approved. Send /help to see your commands.")
    else:
        text = app.i18n.t(user.locale, "Your coordinator request was not approved. If you think "
                                       "this is a mistake, contact the centre.") + "\n" + \
            app.i18n.t(user.locale, "To take part as a parliament member instead, erase this "
                                    "request with /deleteme and register again with /start.")
    message = OutgoingMessage(text=text, html=True)
    return await enqueue(session, "coordinator_decision", user.id,
                         [Recipient(user.id, user.chat_id, "one")], {"one": message},
                         priority=PRIORITY_PERSONAL)


async def notify_promoted(session: AsyncSession, app: object, user: User) -> int:
    """Tell a person a staff member made them centre staff."""
    if not user.chat_id:
        return 0
    text = app.i18n.t(user.locale, "You are now centre staff. Send /help to see your commands.")
    return await enqueue(session, "promoted", user.id,
                         [Recipient(user.id, user.chat_id, "one")],
                         {"one": OutgoingMessage(text=text, html=True)},
                         priority=PRIORITY_PERSONAL)


async def notify_guardian_confirmed(session: AsyncSession, app: object, user: User) -> int:
    if not user.chat_id:
        return 0
    text = app.i18n.t(user.locale, "Your parent or guardian confirmed your account. You can now "
                                   "take part in everything, including submitting entries.")
    return await enqueue(session, "guardian_confirmed", user.id,
                         [Recipient(user.id, user.chat_id, "one")],
                         {"one": OutgoingMessage(text=text, html=True)},
                         priority=PRIORITY_PERSONAL)
