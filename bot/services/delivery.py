"""Enqueueing side of the delivery queue (Telegram-agnostic).

Everything sent to more than the person who is talking goes through here: broadcasts,
reminders, notifications. `bot.delivery.DeliveryWorker` sends the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Delivery, OutboxPayload

PRIORITY_PERSONAL = 1  # notifications, reminders: before a long broadcast's remaining rows
PRIORITY_BULK = 5


@dataclass
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class OutgoingMessage:
    """One message as our channels understand it.

    kind: text | photo | video | document | animation | audio | voice | album.
    `entities` are Telegram-style dicts (type/offset/length[/url]); `media` is for albums:
    [{"kind": "photo", "file_id": ..., "caption": ..., "entities": [...]}].
    Text is HTML when `html` is true (used for bot-made notices), else plain with entities.
    """

    kind: str = "text"
    text: str | None = None
    entities: list[dict[str, Any]] | None = None
    file_id: str | None = None
    media: list[dict[str, Any]] | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    html: bool = False
    link_preview: bool = True
    document_bytes_b64: str | None = None  # generated files (certificates, .ics)
    filename: str | None = None

    def to_body(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> OutgoingMessage:
        data = dict(body)
        data["buttons"] = [[Button(**b) for b in row] for row in data.get("buttons") or []]
        return cls(**data)


@dataclass(frozen=True)
class Recipient:
    user_id: int | None
    chat_id: int
    payload_key: str = "default"  # e.g. the locale, when each language gets its own text


async def enqueue(
    session: AsyncSession,
    source_type: str,
    source_id: int | None,
    recipients: Iterable[Recipient],
    payloads: dict[str, OutgoingMessage],
    priority: int = PRIORITY_BULK,
    dedup_suffix: str = "",
) -> int:
    """Queue one message per recipient; repeats of (source, recipient, suffix) are ignored.

    Returns the number of rows newly queued.
    """
    now = utcnow()
    payload_ids: dict[str, int] = {}
    for key, message in payloads.items():
        row = OutboxPayload(body=message.to_body())
        session.add(row)
        await session.flush()
        payload_ids[key] = row.id
    rows = [
        {
            "dedup_key": f"{source_type}:{source_id}:{dedup_suffix}:{r.user_id or r.chat_id}",
            "source_type": source_type, "source_id": source_id, "user_id": r.user_id,
            "chat_id": r.chat_id, "payload_id": payload_ids[r.payload_key],
            "priority": priority, "status": "queued", "attempts": 0,
            "next_attempt_at": now, "created_at": now,
        }
        for r in recipients
    ]
    if not rows:
        return 0
    before = await session.scalar(select(func.count()).select_from(Delivery)) or 0
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 5000):
        stmt = ins(Delivery).on_conflict_do_nothing(index_elements=["dedup_key"])
        await session.execute(stmt, rows[start:start + 5000])
    after = await session.scalar(select(func.count()).select_from(Delivery)) or 0
    return after - before


__all__ = ["Button", "OutgoingMessage", "Recipient", "enqueue", "insert"]
