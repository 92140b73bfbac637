"""/certificates (staff): bulk issue, templates, revoke, export."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CertCD
from bot.config import Settings
from bot.i18n import PoI18n
from bot.middlewares import HEAVY_DB
from bot.routing import Routes
from bot.services import certificates as certs
from bot.services.errors import DomainError
from bot.services.users import UserInfo
from db.models import Certificate
from handlers.shared.errors import StaleButton

routes = Routes(__name__)
logger = logging.getLogger(__name__)


BACKGROUND_MAX_BYTES = 10_000_000
Clock = Callable[[], datetime]


class CertificatesSG(StatesGroup):
    confirm = State()
    background = State()
    signatories = State()


def confirm_kb(count: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Issue {count}").format(count=count), callback_data=CertCD(action="issue"))
    kb.button(text=_("✖️ Cancel"), callback_data=CertCD(action="drop"))
    kb.adjust(2)
    return kb.as_markup()


def templates_kb(i18n: PoI18n, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for template in certs.TEMPLATES:
        kb.button(text=certs.template_label(i18n.translator, locale, template),
                  callback_data=CertCD(action="tpl", template=template))
    kb.adjust(1)
    return kb.as_markup()


def template_kb(template: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🖼 Background"), callback_data=CertCD(action="bg", template=template))
    kb.button(text=_("✍️ Signatories"), callback_data=CertCD(action="sig", template=template))
    kb.button(text=_("♻️ Built-in frame"), callback_data=CertCD(action="nobg", template=template))
    kb.button(text=_("👁 Preview"), callback_data=CertCD(action="pv", template=template))
    kb.adjust(2)
    return kb.as_markup()


async def _username(bot: Bot, public_base_url: str | None) -> str:
    """Where the QR code leads: the public page when PUBLIC_BASE_URL is set, else the bot
    (certs.verify_link)."""
    return public_base_url or (await bot.me()).username or ""


async def _render(i18n: PoI18n, tz: ZoneInfo, bot: Bot, session: AsyncSession,
                  cert: Certificate) -> bytes:
    settings = await certs.get_settings(session, cert.template)
    username = await _username(bot, None)  # a sample: its QR code leads nowhere real
    return await asyncio.to_thread(certs.render, i18n.translator, cert, settings, username, tz)


# --- /certificates ---------------------------------------------------------------------

@routes.message(Command("certificates"), flags=HEAVY_DB)
async def cmd_certificates(message: Message, command: CommandObject, state: FSMContext,
                           session: AsyncSession, read_session: AsyncSession, i18n: PoI18n,
                           settings: Settings, clock: Clock, bot: Bot,
                           user: UserInfo | None) -> None:
    """Reads (the registry, who is due a certificate) go to `read_session`; a revocation
    and the confirmation step are written through `session`."""
    args = " ".join((command.args or "").split())
    sub, _sep, rest = args.partition(" ")
    if sub == "templates":
        await message.answer(_("Which template?"),
                             reply_markup=templates_kb(i18n, i18n.current_locale))
    elif sub == "export":
        await send_export(message, read_session, i18n, settings.tz, clock())
    elif sub == "revoke":
        await revoke(message, rest, session, clock(), user)
    elif sub == "reissue":
        await reissue(message, rest, session, i18n, settings, clock(), bot, user)
    else:
        await preview_issue(message, args, state, read_session, i18n, settings.tz, clock(), bot)


async def preview_issue(message: Message, args: str, state: FSMContext,
                        session: AsyncSession, i18n: PoI18n, tz: ZoneInfo, now: datetime,
                        bot: Bot) -> None:
    source = certs.parse_source(args)
    plan = await certs.plan_issue(session, source, now, tz)
    locale = i18n.current_locale
    lines = [_("New certificates to issue: {count}").format(count=len(plan.new))]
    lines += [f"• {certs.template_label(i18n.translator, locale, t)}: {n}"
              for t, n in plan.by_template.items()]
    lines.append(_("Issued before: {count}").format(count=plan.existing))
    if plan.no_name:
        lines.append(_("Without a name in the profile (skipped until they add it in /profile):"
                       " {count}").format(count=plan.no_name))
    if plan.waiting:
        lines.append(_("Waiting for a guardian's confirmation (skipped; run this again after "
                       "they confirm): {count}").format(count=plan.waiting))
    summary = "\n".join(lines)
    sample = certs.preview_for(source, plan, now)
    if sample is None:
        await message.answer(summary + "\n\n" + _("Nothing new to issue."))
        return
    unsigned = await certs.unsigned_templates(session, plan.by_template)
    if unsigned:  # not a nameless "Director": who signs is asked first, then the issue goes on
        await state.set_state(CertificatesSG.signatories)
        await state.update_data(cert_template=unsigned[0], cert_source=args)
        await message.answer(summary + "\n\n" + _(
            "Nobody signs «{template}» yet. Send the signatories first, one per line, at most "
            "3:\n<code>Director | A. Seitov</code>\nLines for one language only go after a line "
            "[kk], [ru] or [en]. Then you will see a sample. /cancel to stop.").format(
            template=html.escape(certs.template_label(i18n.translator, locale, unsigned[0]),
                                 quote=False)))
        return
    pdf = await _render(i18n, tz, bot, session, sample)
    await state.set_state(CertificatesSG.confirm)
    await state.update_data(cert_source=args)
    await message.answer_document(
        BufferedInputFile(pdf, filename="sample.pdf"),
        caption=summary + "\n\n" + _("Above is a sample. Issue them and send each person "
                                     "their certificate?"),
        reply_markup=confirm_kb(len(plan.new)))


# Heavy: one batch at a time per person, in a worker thread. It stays on the writer: who is
# due a certificate is decided in the transaction that adds the rows (no duplicates).
@routes.callback_query(CertCD.filter(F.action == "issue"), flags=HEAVY_DB)
async def on_issue(cb: CallbackQuery, state: FSMContext, session: AsyncSession, i18n: PoI18n,
                   settings: Settings, clock: Clock, bot: Bot, user: UserInfo | None) -> None:
    args = (await state.get_data()).get("cert_source")
    if await state.get_state() != CertificatesSG.confirm.state or not args:
        await cb.message.answer(_("This request has expired. Send the /certificates command "
                                  "again."))
        return
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    result = await certs.issue(session, certs.parse_source(args), user, clock(), settings.tz)
    qr_target = await _username(bot, settings.public_base_url)
    queued = await certs.pump(session, i18n.translator, qr_target, settings.tz, clock(),
                              certs.queue_target(settings.delivery_rate))
    logger.info("issued %s certificates for %s, %s queued now", result.new, args, queued)
    await cb.message.answer(
        ngettext("Issued: {new} new certificate ({existing} had been issued before). It is being "
                 "sent now.",
                 "Issued: {new} new certificates ({existing} had been issued before). They are "
                 "being sent now.", result.new).format(new=result.new, existing=result.existing))


# Issued (or dropped) already: the stale Cancel falls through to the fallback router.
@routes.callback_query(CertificatesSG.confirm, CertCD.filter(F.action == "drop"))
async def on_drop(cb: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Cancelled. Nothing was issued."))


@routes.message(CertificatesSG.confirm, ~F.text.startswith("/"))
async def on_confirm_other(message: Message) -> None:
    await message.answer(_("Press “Issue” or “Cancel” under the sample, or send /cancel."))


async def send_export(message: Message, session: AsyncSession, i18n: PoI18n, tz: ZoneInfo,
                      now: datetime) -> None:
    data = await certs.export_registry(session, i18n, i18n.current_locale, tz)
    stamp = now.astimezone(tz).strftime("%Y%m%d")
    await message.answer_document(BufferedInputFile(data, filename=f"certificates_{stamp}.xlsx"),
                                  caption=_("The registry of certificates."))


async def revoke(message: Message, rest: str, session: AsyncSession, now: datetime,
                 user: UserInfo | None) -> None:
    number, _sep, reason = rest.partition(" ")
    if not number or not reason.strip():  # /verify shows the reason to whoever checks
        raise DomainError("cert_usage")
    cert = await certs.revoke(session, number, user, reason, now)
    await message.answer(_("Certificate {number} is revoked. /verify will now say so.").format(
        number=cert.number) + "\n" + _("To issue a corrected one with a new number: "
                                       "/certificates reissue {number}").format(
        number=cert.number))


async def reissue(message: Message, rest: str, session: AsyncSession, i18n: PoI18n,
                  settings: Settings, now: datetime, bot: Bot, user: UserInfo | None) -> None:
    """`/certificates reissue NUMBER [reason]`: revoke (unless revoked already) and issue a
    corrected one, sent to the holder through the delivery queue like any other."""
    number, _sep, reason = rest.partition(" ")
    if not number:
        raise DomainError("cert_usage")
    old, new = await certs.reissue(session, number, user, reason, now, settings.tz)
    qr_target = await _username(bot, settings.public_base_url)
    await certs.pump(session, i18n.translator, qr_target, settings.tz, now,
                     certs.queue_target(settings.delivery_rate))
    await message.answer(_("Certificate {old} is revoked. The corrected one, No. {new}, is "
                           "issued to {name} and is being sent to them now.").format(
        old=old.number, new=new.number, name=html.escape(new.full_name)))


# --- templates -------------------------------------------------------------------------

@routes.callback_query(CertCD.filter(F.action == "tpl"))
async def on_template(cb: CallbackQuery, callback_data: CertCD, session: AsyncSession,
                      i18n: PoI18n) -> None:
    if callback_data.template not in certs.TEMPLATES:
        return
    settings = await certs.get_settings(session, callback_data.template)
    locale = i18n.current_locale
    background = _("own picture") if settings.background else _("built-in frame")
    signatories = certs.signatories_text(settings) or _("not set (“Director”, no name)")
    await cb.message.answer(
        _("<b>{template}</b>\nBackground: {background}\nSignatories:\n{signatories}").format(
            template=certs.template_label(i18n.translator, locale, callback_data.template),
            background=background, signatories=html.escape(signatories)),
        reply_markup=template_kb(callback_data.template))


@routes.callback_query(CertCD.filter(F.action == "bg"))
async def on_background_ask(cb: CallbackQuery, callback_data: CertCD,
                            state: FSMContext) -> None:
    if callback_data.template not in certs.TEMPLATES:  # a forged button (review I1)
        raise StaleButton()
    await state.set_state(CertificatesSG.background)
    await state.update_data(cert_template=callback_data.template)
    await cb.message.answer(_("Send the background picture as a photo or as a file. A4 "
                              "landscape (297×210) works best; keep the middle light so the "
                              "text stays readable. /cancel to stop."))


@routes.message(CertificatesSG.background, F.photo | F.document)
async def on_background(message: Message, state: FSMContext, session: AsyncSession,
                        i18n: PoI18n, settings: Settings, clock: Clock, bot: Bot,
                        user: UserInfo | None) -> None:
    media = message.photo[-1] if message.photo else message.document
    if media.file_size and media.file_size > BACKGROUND_MAX_BYTES:
        await message.answer(_("The file is too large (at most 10 MB)."))
        return
    template = (await state.get_data()).get("cert_template", "")
    raw = (await bot.download(media.file_id)).read()
    await certs.set_background(session, template, raw, user)
    await state.clear()
    await _send_template_preview(message, template, session, i18n, settings.tz, clock(), bot,
                                 _("The background is saved. A sample:"))


@routes.message(CertificatesSG.background, ~F.text.startswith("/"))
async def on_background_other(message: Message) -> None:
    await message.answer(_("Send a picture (a photo or an image file), or /cancel."))


@routes.callback_query(CertCD.filter(F.action == "sig"))
async def on_signatories_ask(cb: CallbackQuery, callback_data: CertCD,
                             state: FSMContext) -> None:
    if callback_data.template not in certs.TEMPLATES:  # a forged button (review I1)
        raise StaleButton()
    await state.set_state(CertificatesSG.signatories)
    await state.update_data(cert_template=callback_data.template)
    await cb.message.answer(_(
        "Send the signatories, one per line, at most 3:\n<code>Director | A. Seitov</code>\n"
        "Lines for one language only go after a line [kk], [ru] or [en]. /cancel to stop."))


@routes.message(CertificatesSG.signatories, F.text, ~F.text.startswith("/"))
async def on_signatories(message: Message, state: FSMContext, session: AsyncSession,
                         i18n: PoI18n, settings: Settings, clock: Clock, bot: Bot,
                         user: UserInfo | None) -> None:
    template = (await state.get_data()).get("cert_template", "")
    await certs.set_signatories(session, template, message.text, user)
    source = (await state.get_data()).get("cert_source")
    await state.clear()
    if source:  # asked for by a bulk issue: go on with it
        await message.answer(_("The signatories are saved."))
        await preview_issue(message, source, state, session, i18n, settings.tz, clock(), bot)
        return
    await _send_template_preview(message, template, session, i18n, settings.tz, clock(), bot,
                                 _("The signatories are saved. A sample:"))


@routes.message(CertificatesSG.signatories, ~F.text.startswith("/"))
async def on_signatories_other(message: Message) -> None:
    await message.answer(_("Send the signatories as text, or /cancel."))


@routes.callback_query(CertCD.filter(F.action == "nobg"))
async def on_no_background(cb: CallbackQuery, callback_data: CertCD, session: AsyncSession,
                           user: UserInfo | None) -> None:
    await certs.set_background(session, callback_data.template, None, user)
    await cb.message.answer(_("The built-in frame is used again."))


@routes.callback_query(CertCD.filter(F.action == "pv"))
async def on_preview(cb: CallbackQuery, callback_data: CertCD, session: AsyncSession,
                     i18n: PoI18n, settings: Settings, clock: Clock, bot: Bot) -> None:
    if callback_data.template in certs.TEMPLATES:
        await _send_template_preview(cb.message, callback_data.template, session, i18n,
                                     settings.tz, clock(), bot, _("A sample:"))


async def _send_template_preview(message: Message, template: str, session: AsyncSession,
                                 i18n: PoI18n, tz: ZoneInfo, now: datetime, bot: Bot,
                                 caption: str) -> None:
    sample = certs.sample_certificate(template, i18n.current_locale, now)
    pdf = await _render(i18n, tz, bot, session, sample)
    await message.answer_document(BufferedInputFile(pdf, filename=f"sample_{template}.pdf"),
                                  caption=caption)
