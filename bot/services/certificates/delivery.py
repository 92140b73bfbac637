"""Handing certificates to the delivery queue, paced, and rendering each PDF as it is sent.

Sending is paced: every tick (TICK_SECONDS) tops the delivery queue up to `queue_target`
certificates, QUEUE_SECONDS of sending at the delivery rate (two ticks' worth, so the worker
never waits for the next tick), within QUEUE_MIN..QUEUE_MAX.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.certificates.base import REVOKED, SOURCE_TYPE
from bot.services.certificates.templates import TemplateSettings, get_settings
from bot.services.certificates.texts import delivery_caption, pdf_content
from bot.services.delivery import DocumentWithdrawn, OutgoingMessage, Recipient, enqueue
from bot.translator import Translator
from db.models import (
    Certificate,
    CertificateTemplate,
    Delivery,
    OutboxPayload,
    User,
)

logger = logging.getLogger(__name__)


TICK_SECONDS = 10  # bot.scheduler runs `tick` this often
QUEUE_SECONDS = 2 * TICK_SECONDS  # how much sending the queue holds after a tick
QUEUE_MIN, QUEUE_MAX = 50, 2000  # certificates waiting in the delivery queue (~2 KB each)
ENQUEUE_CHUNK = 500  # registry rows read and queued at a time
COMPACT_CHUNK = 20


# --- delivery ------------------------------------------------------------------------

async def enqueue_pending(session: AsyncSession, translator: Translator, bot_username: str,
                          tz: ZoneInfo, now: datetime, limit: int = ENQUEUE_CHUNK) -> int:
    """Queue up to `limit` issued, not yet queued, not revoked certificates; returns how
    many deliveries were queued.

    Nothing is rendered here: the message names the document (`document_spec`) and the
    delivery worker renders it when it sends it.
    """
    return (await _enqueue_chunk(session, translator, bot_username, tz, now, limit))[1]


async def _enqueue_chunk(session: AsyncSession, translator: Translator, bot_username: str,
                         tz: ZoneInfo, now: datetime, limit: int) -> tuple[int, int]:
    """(registry rows taken, deliveries queued): a person without a chat is taken (marked
    queued) but gets no delivery. One of a minor still waiting for a guardian's confirmation
    (issued before the limit existed) waits, untaken, until the guardian confirms."""
    rows = (await session.execute(
        select(Certificate, User.chat_id)
        .join(User, User.id == Certificate.user_id, isouter=True)
        .where(Certificate.queued_at.is_(None), Certificate.revoked_at.is_(None),
               Certificate.number.is_not(None), User.limited.is_not(True))
        .order_by(Certificate.id).limit(limit))).all()
    if not rows:
        return 0, 0
    settings = {t: await get_settings(session, t) for t in {c.template for c, _ in rows}}
    sendable = [(c, chat) for c, chat in rows if chat]
    for cert, chat_id in sendable:
        caption = delivery_caption(translator, cert)
        message = OutgoingMessage(
            kind="document", text=caption, html=True, filename=f"{cert.number}.pdf",
            document=document_spec(translator, cert, settings[cert.template], bot_username, tz))
        await enqueue(session, SOURCE_TYPE, cert.id, [Recipient(cert.user_id, chat_id)],
                      {"default": message})
    await session.execute(update(Certificate)
                          .where(Certificate.id.in_([c.id for c, _ in rows]))
                          .values(queued_at=now))
    return len(rows), len(sendable)


def document_spec(translator: Translator, cert: Certificate, settings: TemplateSettings,
                  bot_username: str, tz: ZoneInfo) -> dict[str, Any]:
    """What `make_document` needs to render this certificate: the printed texts, already
    translated, without the name and organisation (read from the registry row when it is
    sent, so the queue keeps nothing personal) and with the background by its digest (the
    picture itself stays in certificate_templates)."""
    from bot.services.pdf import background_digest, background_file

    content = dataclasses.asdict(pdf_content(translator, cert, settings, bot_username, tz))
    for personal_or_big in ("name", "org", "background"):
        content.pop(personal_or_big)
    digest = None
    if settings.background:
        background_file(settings.background)  # written once; the renderer reads the file
        digest = background_digest(settings.background)
    return {"maker": "certificate", "id": cert.id, "template": cert.template,
            "background": digest, "content": content}


async def make_document(sessionmaker: async_sessionmaker, spec: dict[str, Any]) -> bytes:
    """The PDF of a queued certificate (bot.delivery.DOCUMENT_MAKERS["certificate"])."""
    from bot.services.pdf import PdfContent, background_file, background_path, render_certificate

    background: str | None = None
    async with sessionmaker() as session:
        row = (await session.execute(
            select(Certificate.full_name, Certificate.org_name, Certificate.revoked_at)
            .where(Certificate.id == spec["id"]))).one_or_none()
        if row is None:
            raise LookupError(f"certificate {spec['id']} is not in the registry")
        if row.revoked_at is not None:  # revoked after it was queued: not sent at all
            raise DocumentWithdrawn(REVOKED)
        if spec.get("background"):
            background = background_path(spec["background"])
            if background is None:  # another machine, or the cache was cleaned
                picture = await session.scalar(
                    select(CertificateTemplate.background)
                    .where(CertificateTemplate.template == spec["template"]))
                background = background_file(picture) if picture else None
    content = dict(spec["content"])
    content["signatories"] = [tuple(p) for p in content.get("signatories") or []]
    page = PdfContent(**content, name=row.full_name, org=row.org_name, background=background)
    return await asyncio.to_thread(render_certificate, page)


async def in_flight(session: AsyncSession) -> int:
    return await session.scalar(
        select(func.count()).select_from(Delivery)
        .where(Delivery.source_type == SOURCE_TYPE,
               Delivery.status.in_(("queued", "sending")))) or 0


async def compact_sent(session: AsyncSession, limit: int = 500) -> int:
    """Drop the PDF bytes of certificate messages already delivered (or undeliverable).

    Only messages queued before PDFs were rendered at send time carry the bytes. Loaded a
    few at a time: each such body holds a whole PDF.
    """
    payload_ids = list(await session.scalars(
        select(Delivery.payload_id)
        .join(OutboxPayload, OutboxPayload.id == Delivery.payload_id)
        .where(Delivery.source_type == SOURCE_TYPE, Delivery.status.in_(("sent", "blocked")),
               OutboxPayload.body["document_bytes_b64"].as_string().is_not(None))
        .limit(limit)))
    for start in range(0, len(payload_ids), COMPACT_CHUNK):
        chunk = payload_ids[start:start + COMPACT_CHUNK]
        for payload in await session.scalars(
                select(OutboxPayload).where(OutboxPayload.id.in_(chunk))):
            payload.body = {**payload.body, "document_bytes_b64": None}
        await session.flush()
    return len(payload_ids)


def queue_target(rate: float | None) -> int:
    """How many certificates to keep in the delivery queue at `rate` messages a second:
    QUEUE_SECONDS of sending, so it still has work when the next tick comes (queueing is
    cheap: ~2 KB of texts each, nothing rendered), within QUEUE_MIN..QUEUE_MAX."""
    if not rate:  # unpaced
        return QUEUE_MAX
    return max(QUEUE_MIN, min(QUEUE_MAX, math.ceil(rate * QUEUE_SECONDS)))


async def pump(session: AsyncSession, translator: Translator, bot_username: str, tz: ZoneInfo,
               now: datetime, target: int) -> int:
    """One step of paced sending: top the queue up to `target` certificates waiting or
    being sent (see `queue_target`), tidy sent ones. Returns how many were queued."""
    await compact_sent(session)
    room = target - await in_flight(session)
    queued = 0
    while room > 0:
        taken, added = await _enqueue_chunk(session, translator, bot_username, tz, now,
                                            min(room, ENQUEUE_CHUNK))
        if not taken:
            break
        queued += added
        room -= added
    return queued


async def tick(sessionmaker: async_sessionmaker, translator: Translator, bot_username: str,
               tz: ZoneInfo, now: datetime, rate: float | None) -> None:
    """One round of the scheduler's certificates tick (bot.scheduler.certificates_tick):
    keep certificates flowing into the queue at `rate` messages a second."""
    async with sessionmaker() as session:
        queued = await pump(session, translator, bot_username, tz, now, queue_target(rate))
        await session.commit()
    if queued:
        logger.info("queued %s certificates", queued)
