"""Which messenger a person is on, from the id the bot knows them by (aiogram-free).

Telegram people are known by their Telegram id; WhatsApp people by the negative id of their
`wa_contacts` row (db.models.whatsapp). Erasure removes that row: the WhatsApp address is
personal data, and a later message from the same person starts afresh. So does the
retention rule: a contact who never registered (no `users` row, not linked by /link) is
forgotten, with the files they sent and their unfinished conversation,
WHATSAPP_CONTACT_RETENTION_DAYS after their last message (`forget_strangers`, run by a
scheduled tick).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.media_store import erase_media_of
from db.models import FsmRecord, User
from db.models.whatsapp import WHATSAPP, WaContact, channel_of

__all__ = ["WHATSAPP", "channel_of", "forget_contact", "forget_strangers"]
STRANGERS_BATCH = 500  # contacts forgotten per transaction


async def forget_contact(session: AsyncSession, ext_id: int | None) -> None:
    """Delete the WhatsApp contact behind `ext_id` (nothing for a Telegram id)."""
    if channel_of(ext_id) == WHATSAPP:
        await session.execute(delete(WaContact).where(WaContact.id == -ext_id))


async def forget_strangers(session: AsyncSession, silent_since: datetime,
                           limit: int = STRANGERS_BATCH) -> list[int]:
    """Forget up to `limit` WhatsApp contacts who never registered and have not written
    since `silent_since`: the row, the files they sent (deleted from disk once committed)
    and any conversation state. Their ids as the bot knew them (negative)."""
    # registered: a WhatsApp-only person (users.tg_id = -id), or linked to a person (/link)
    # whose row carries their Telegram id; such a contact may only receive, never write
    registered = or_(exists().where(User.tg_id == -WaContact.id), WaContact.user_id.is_not(None))
    silent = or_(WaContact.last_inbound_at < silent_since,
                 and_(WaContact.last_inbound_at.is_(None), WaContact.created_at < silent_since))
    ids = list((await session.scalars(
        select(WaContact.id).where(silent, ~registered).order_by(WaContact.id)
        .limit(limit))).all())
    if not ids:
        return []
    # the conditions again: someone who wrote (or registered) meanwhile stays
    await session.execute(delete(WaContact).where(WaContact.id.in_(ids), silent, ~registered))
    kept = set((await session.scalars(select(WaContact.id).where(WaContact.id.in_(ids)))).all())
    ext_ids = [-contact_id for contact_id in ids if contact_id not in kept]
    await erase_media_of(session, ext_ids)
    for ext_id in ext_ids:  # keys are bot:chat:user[:…]; one LIKE each, as /deleteme does
        await session.execute(FsmRecord.__table__.delete().where(
            FsmRecord.key.like(f"%:{ext_id}:%")))
    return ext_ids
