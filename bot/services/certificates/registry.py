"""The registry: finding a certificate by its number, revoking it, the staff export.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.certificates.base import REVOKED, SOURCE_TYPE
from bot.services.certificates.numbers import is_number, make_number, normalize_number
from bot.services.certificates.texts import (
    reason_text,
    registry_headers,
    registry_sheet_name,
    source_label,
    template_label,
    waiting_label,
)
from bot.services.errors import DomainError
from bot.services.guardian import as_seen_by_others
from bot.services.text import strip_controls
from bot.translator import LANGUAGE_NAMES, Translator
from db.models import (
    Certificate,
    Delivery,
    User,
)

# --- registry ------------------------------------------------------------------------

async def find(session: AsyncSession, number: str) -> Certificate | None:
    value = normalize_number(number)
    if not is_number(value):
        return None
    return await session.scalar(select(Certificate).where(Certificate.number == value))


async def holder_waiting(session: AsyncSession, cert: Certificate) -> bool:
    """True while the holder is a minor still waiting for a guardian's confirmation (only a
    certificate issued before the limit existed can belong to one): /verify then shows them
    as the staff exports do, by no name and no region (review M4 with L6)."""
    if cert.user_id is None:
        return False
    return bool(await session.scalar(select(User.limited).where(User.id == cert.user_id)))


async def revoke(session: AsyncSession, number: str, actor: Any, reason: str,
                 now: datetime) -> Certificate:
    cert = await find(session, number)
    if cert is None:
        raise DomainError("cert_unknown", number=normalize_number(number)[:40])
    if cert.revoked_at is not None:
        raise DomainError("cert_already_revoked", number=cert.number)
    cert.revoked_at, cert.revoked_by = now, getattr(actor, "id", None)
    cert.revoke_reason = strip_controls(reason).strip()[:500] or None
    # not sent yet: it never will be (a row a worker holds now is cancelled by make_document)
    await session.execute(
        update(Delivery).where(Delivery.source_type == SOURCE_TYPE,
                               Delivery.source_id == cert.id, Delivery.status == "queued")
        .values(status="cancelled", error=REVOKED))
    await log_activity(session, "certificate_revoked", actor, "certificate", cert.id)
    return cert


async def export_registry(session: AsyncSession, translator: Translator, locale: str,
                          tz: ZoneInfo) -> bytes:
    from openpyxl import Workbook

    from bot.services import xlsx

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(registry_sheet_name(translator, locale))
    xlsx.append(ws, registry_headers(translator, locale))
    waiting = waiting_label(translator, locale)
    last = 0
    while True:
        chunk = (await session.execute(
            select(Certificate, User.limited).outerjoin(User, User.id == Certificate.user_id)
            .where(Certificate.id > last).order_by(Certificate.id).limit(1000))).all()
        if not chunk:
            break
        for c, limited in chunk:
            # Only a certificate issued before the limit existed can belong to one.
            name, org = as_seen_by_others(limited, c.full_name, c.org_name, waiting)
            xlsx.append(ws, [c.number, template_label(translator, locale, c.template), name,
                             org, reason_text(translator, locale, c),
                             source_label(translator, locale, c),
                             LANGUAGE_NAMES.get(c.locale, c.locale),
                             _local(c.issued_at, tz), _local(c.queued_at, tz),
                             _local(c.revoked_at, tz), c.revoke_reason or ""])
        last = chunk[-1][0].id
    return xlsx.to_bytes(wb)


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


# --- corrections and the holder's own list ---------------------------------------------

async def replacement_of(session: AsyncSession, number: str) -> Certificate | None:
    """The certificate issued to correct `number`, if any (its details name the old one)."""
    return await session.scalar(
        select(Certificate).where(Certificate.details["replaces"].as_string() == number)
        .order_by(Certificate.id).limit(1))


async def reissue(session: AsyncSession, number: str, actor: Any, reason: str,
                  now: datetime, tz: ZoneInfo) -> tuple[Certificate, Certificate]:
    """A corrected certificate in place of `number`: the old one is revoked (with `reason`,
    unless it was revoked already, by a reason of its own), the new one gets a new number and
    the holder's name and organisation as their profile has them now (the usual mistake is a
    misspelt name, put right in /profile first). It is queued like any other, so the holder
    is sent the new file with a note of which number it replaces. Returns (old, new)."""
    old = await find(session, number)
    if old is None:
        raise DomainError("cert_unknown", number=normalize_number(number)[:40])
    if (done := await replacement_of(session, old.number or "")) is not None:
        raise DomainError("cert_already_reissued", number=old.number, new=done.number)
    holder = await session.get(User, old.user_id) if old.user_id else None
    if holder is None or holder.status in ("erased", "rejected") or \
            not (holder.full_name or "").strip():
        raise DomainError("cert_holder_gone", number=old.number)
    if old.revoked_at is None:
        if not strip_controls(reason).strip():
            raise DomainError("cert_usage")
        await revoke(session, old.number or "", actor, reason, now)
    new = Certificate(
        issue_key=f"fix{old.id}:{old.issue_key}"[:120], template=old.template,
        source_type=old.source_type, source_id=old.source_id, user_id=holder.id,
        full_name=" ".join((holder.full_name or "").split()), org_name=holder.org_name,
        region_id=holder.region_id, locale=old.locale,
        details={**(old.details or {}), "replaces": old.number}, issued_at=now,
        issued_by=getattr(actor, "id", None))
    session.add(new)
    await session.flush()
    new.number = make_number(new.template, now.astimezone(tz).year)
    await session.flush()
    await log_activity(session, "certificate_reissued", actor, "certificate", new.id,
                       {"replaces": old.number})
    return old, new


async def holder_certificates(session: AsyncSession, user_id: int) -> list[Certificate]:
    """A person's certificates, newest first, revoked ones too (the list says so)."""
    return list(await session.scalars(
        select(Certificate).where(Certificate.user_id == user_id,
                                  Certificate.number.is_not(None))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(50)))


async def holder_certificate(session: AsyncSession, user_id: int,
                             cert_id: int) -> Certificate | None:
    """One of the person's own certificates, not revoked (to download it again)."""
    cert = await session.get(Certificate, cert_id)
    if cert is None or cert.user_id != user_id or cert.revoked_at is not None or \
            not cert.number:
        return None
    return cert
