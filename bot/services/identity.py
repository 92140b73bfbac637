"""Which messenger a person is on, from the id the bot knows them by (aiogram-free).

Telegram people are known by their Telegram id; WhatsApp people by the negative id of their
`wa_contacts` row (db.models.whatsapp). Erasure removes that row: the WhatsApp address is
personal data, and a later message from the same person starts afresh.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.whatsapp import WHATSAPP, WaContact, channel_of

__all__ = ["WHATSAPP", "channel_of", "forget_contact"]


async def forget_contact(session: AsyncSession, ext_id: int | None) -> None:
    """Delete the WhatsApp contact behind `ext_id` (nothing for a Telegram id)."""
    if channel_of(ext_id) == WHATSAPP:
        await session.execute(delete(WaContact).where(WaContact.id == -ext_id))
