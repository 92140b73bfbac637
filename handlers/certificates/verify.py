"""/verify and /start v_<number> (anyone): is a certificate genuine?"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.config import Settings
from bot.i18n import PoI18n
from bot.routing import Routes
from bot.services import certificates as certs
from bot.services.certificates import VerifyMisses
from bot.services.guardian import as_seen_by_others
from bot.services.places import PlaceDirectory

routes = Routes(__name__)


@routes.message(Command("verify"))
async def cmd_verify(message: Message, command: CommandObject, session: AsyncSession,
                     i18n: PoI18n, settings: Settings, places: PlaceDirectory,
                     clock: Callable[[], datetime], verify_misses: VerifyMisses) -> None:
    if not (command.args or "").strip():
        await message.answer(_("Send the number after the command, e.g. "
                               "<code>/verify D26-7KQM-3XRT-P9WF-HN2C</code>."))
        return
    await verify_reply(message, command.args or "", session, i18n, settings, places, clock(),
                       verify_misses)


@routes.message(CommandStart(deep_link=True, magic=F.args.startswith("v_")))
async def cmd_start_verify(message: Message, command: CommandObject, session: AsyncSession,
                           i18n: PoI18n, settings: Settings, places: PlaceDirectory,
                           clock: Callable[[], datetime], verify_misses: VerifyMisses) -> None:
    """The link under a certificate's QR code: t.me/<bot>?start=v_<number>."""
    await verify_reply(message, (command.args or "")[2:], session, i18n, settings, places,
                       clock(), verify_misses)


async def verify_reply(message: Message, number: str, session: AsyncSession, i18n: PoI18n,
                       settings: Settings, places: PlaceDirectory, now: datetime,
                       misses: VerifyMisses) -> None:
    """/verify <number> and /start v_<number>.

    Shown to anyone: genuine or revoked, what it was given for, the date, and the holder as
    "Aida N." of their region, never the full name or the school (certs.public_name); a
    minor still waiting for a guardian's confirmation by neither name nor region."""
    who = message.from_user.id if message.from_user else 0
    if misses.too_many(who, now):
        await message.answer(_("Too many numbers that match no certificate. Please check the "
                               "number and try again in an hour."))
        return
    cert = await certs.find(session, number)
    if cert is None:
        misses.record(who, now)
        shown = certs.normalize_number(number)[:40]
        await message.answer(_("❓ No certificate has the number {number}. Check the number "
                               "and try again.").format(number=html.escape(shown)))
        return
    locale = i18n.current_locale
    tz = settings.tz
    region = places.region(cert.region_id)
    # a minor waiting for a guardian's confirmation: neither name nor region, as in exports
    name, region_name = as_seen_by_others(
        await certs.holder_waiting(session, cert), certs.public_name(cert.full_name),
        region.name(locale) if region else "—", str(labels.WAITING_FOR_GUARDIAN))
    # quote=False: "Winner's diploma", not "Winner&#x27;s" (text, not an attribute)
    values = {"number": cert.number,
              "name": html.escape(name, quote=False),
              "region": html.escape(region_name or "—", quote=False),
              "reason": html.escape(certs.reason_text(i18n.translator, locale, cert), quote=False),
              "date": cert.issued_at.astimezone(tz).strftime("%d.%m.%Y")}
    if cert.revoked_at is not None:
        text = _("⛔ <b>Certificate {number} was revoked</b> on {revoked}. It had been issued "
                 "to {name} ({region}) on {date}: {reason}.").format(
            revoked=cert.revoked_at.astimezone(tz).strftime("%d.%m.%Y"), **values)
        if cert.revoke_reason:
            text += "\n" + _("Reason: {reason}").format(reason=html.escape(cert.revoke_reason))
    else:
        text = _("✅ <b>The certificate is genuine.</b>\nNo. {number}\nIssued to: {name}\n"
                 "Region: {region}\nFor: {reason}\nDate of issue: {date}").format(**values)
    await message.answer(text)
