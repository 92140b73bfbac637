"""Enqueueing side of the delivery queue (channel-agnostic).

Everything sent to more than the person who is talking goes through here: broadcasts,
reminders, notifications. `bot.delivery.DeliveryWorker` sends the rows, each through the
channel it names (`deliveries.channel`, "telegram" unless the recipient says otherwise).

Two ways in:
- `enqueue(session, ..., recipients, payloads)` for lists built in Python; recipients may be
  a generator, they are inserted in chunks so memory stays flat for any size;
- `enqueue_select(session, ..., select(User.id, User.chat_id, User.locale)...)` for large
  audiences: one INSERT … SELECT, the rows never pass through Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Delivery, OutboxPayload, OwedMessage
from db.models.whatsapp import WHATSAPP, WaContact, channel_of
from db.upserts import insert_for

PRIORITY_PERSONAL = 1  # notifications, reminders: before a long broadcast's remaining rows
PRIORITY_BULK = 5
ERASED_BODY: dict[str, Any] = {"erased": True}  # what a purged payload holds (sends nothing)
CHUNK = 2000
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
DEFAULT_CHANNEL = "telegram"
SQLITE_INSERT = (
    "INSERT INTO deliveries (dedup_key, source_type, source_id, user_id, chat_id, channel, "
    "payload_id, priority, status, attempts, next_attempt_at, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?) ON CONFLICT (dedup_key) DO NOTHING")


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
    document_bytes_b64: str | None = None  # small generated files (.ics, charts)
    filename: str | None = None
    # A document made when it is sent instead of stored here: {"maker": name, ...}, one of
    # the delivery worker's makers (a certificate: ~2 KB of texts instead of its PDF).
    document: dict[str, Any] | None = None
    # What its acknowledgement button records (a broadcast's "received" | "done"): outside
    # WhatsApp's 24-hour window a template with a quick-reply button carries that button.
    ack: str | None = None

    def to_body(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> OutgoingMessage:
        data = {k: v for k, v in body.items() if k in cls.__dataclass_fields__}
        data["buttons"] = [[Button(**b) for b in row] for row in data.get("buttons") or []]
        return cls(**data)


class DocumentWithdrawn(Exception):
    """Raised by a document maker (`OutgoingMessage.document`, bot.delivery.DocumentMaker)
    when the document must not be sent any more, e.g. a revoked certificate: the worker marks
    the row `cancelled` with this reason and never retries it."""


@dataclass(frozen=True)
class Recipient:
    user_id: int | None
    chat_id: int  # the address on `channel` (Telegram: the chat id)
    payload_key: str = "default"  # e.g. the locale, when each language gets its own text
    channel: str = ""  # empty: by the address (a negative one is a WhatsApp contact's)

    @property
    def via(self) -> str:
        return self.channel or channel_of(self.chat_id)


async def store_payloads(session: AsyncSession,
                         payloads: dict[str, OutgoingMessage]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for key, message in payloads.items():
        row = OutboxPayload(body=message.to_body())
        session.add(row)
        await session.flush()
        ids[key] = row.id
    return ids


async def enqueue(
    session: AsyncSession,
    source_type: str,
    source_id: int | None,
    recipients: Iterable[Recipient],
    payloads: dict[str, OutgoingMessage],
    priority: int = PRIORITY_BULK,
    dedup_suffix: str = "",
    not_before: datetime | None = None,
) -> int:
    """Queue one message per recipient; repeats of (source, recipient, suffix) are ignored.

    Returns the number of rows newly queued. `not_before` delays sending (reminders).
    """
    now = utcnow()
    due = not_before or now
    payload_ids: dict[str, int] | None = None
    ins = insert_for(session)
    table = Delivery.__table__
    added = 0
    prefix = f"{source_type}:{source_id}:{dedup_suffix}:"
    stmt = ins(table).on_conflict_do_nothing(index_elements=["dedup_key"])
    it = iter(recipients)
    while chunk := list(itertools.islice(it, CHUNK)):
        if payload_ids is None:
            payload_ids = await store_payloads(session, payloads)
        if ins is sqlite_insert:
            # Plain executemany of tuples: no per-row work in SQLAlchemy, and SQLite sums
            # the rows really inserted. Times in SQLAlchemy's SQLite storage format.
            due_s, now_s = (d.astimezone(UTC).strftime(SQLITE_TIME) for d in (due, now))
            rows_t = [(f"{prefix}{r.user_id or r.chat_id}", source_type, source_id, r.user_id,
                       r.chat_id, r.via, payload_ids[r.payload_key], priority, due_s, now_s)
                      for r in chunk]
            conn = await session.connection()
            result = await conn.exec_driver_sql(SQLITE_INSERT, rows_t)
            added += max(result.rowcount or 0, 0)
            continue
        rows = [
            {
                "dedup_key": f"{prefix}{r.user_id or r.chat_id}",
                "source_type": source_type, "source_id": source_id, "user_id": r.user_id,
                "chat_id": r.chat_id, "channel": r.via,
                "payload_id": payload_ids[r.payload_key],
                "priority": priority, "status": "queued", "attempts": 0,
                "next_attempt_at": due, "created_at": now,
            }
            for r in chunk
        ]
        result = await session.execute(stmt.returning(table.c.id), rows)
        added += len(result.all())
    return added


def payloads_for(recipients: Iterable[Recipient],
                 build: Callable[[str], OutgoingMessage]) -> dict[str, OutgoingMessage]:
    """One message per payload key (the locale) that the recipients have."""
    return {key: build(key) for key in {r.payload_key for r in recipients}}


async def enqueue_personal(session: AsyncSession, source_type: str, source_id: int | None,
                           user_id: int | None, chat_id: int, message: OutgoingMessage,
                           dedup_suffix: str = "") -> int:
    """One message to one person, ahead of the bulk (a decision, a right given or taken)."""
    return await enqueue(session, source_type, source_id, [Recipient(user_id, chat_id, "one")],
                         {"one": message}, priority=PRIORITY_PERSONAL, dedup_suffix=dedup_suffix)


async def enqueue_select(
    session: AsyncSession,
    source_type: str,
    source_id: int | None,
    people: Select[Any],
    payloads: dict[str, OutgoingMessage],
    priority: int = PRIORITY_BULK,
    dedup_suffix: str = "",
    not_before: datetime | None = None,
) -> int:
    """Queue one message per row of `people` = select(user_id, chat_id, locale[, channel]).

    The payload is chosen by the locale column (`payloads` keyed by locale; a missing
    locale gets the first payload). A fourth column names each row's channel (else the
    address says: a negative chat id is a WhatsApp contact's). One statement, whatever the
    audience size.
    """
    if not payloads:
        return 0
    now = utcnow()
    due = not_before or now
    payload_ids = await store_payloads(session, payloads)
    sub = people.subquery()
    columns = list(sub.c)
    user_id, chat_id, locale = columns[:3]
    channel = columns[3] if len(columns) > 3 else case(
        (chat_id < 0, literal(WHATSAPP)), else_=literal(DEFAULT_CHANNEL))
    default_payload = next(iter(payload_ids.values()))
    payload_expr = case({k: v for k, v in payload_ids.items()}, value=locale,
                        else_=default_payload) if len(payload_ids) > 1 \
        else literal(default_payload)
    prefix = f"{source_type}:{source_id}:{dedup_suffix}:"
    source = select(
        (literal(prefix) + cast(user_id, Delivery.dedup_key.type)).label("dedup_key"),
        literal(source_type).label("source_type"),
        literal(source_id).label("source_id"),
        user_id.label("user_id"),
        chat_id.label("chat_id"),
        channel.label("channel"),
        payload_expr.label("payload_id"),
        literal(priority).label("priority"),
        literal("queued").label("status"),
        literal(0).label("attempts"),
        literal(due, Delivery.next_attempt_at.type).label("next_attempt_at"),
        literal(now, Delivery.created_at.type).label("created_at"),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    ins = insert_for(session)
    names = ["dedup_key", "source_type", "source_id", "user_id", "chat_id", "channel",
             "payload_id", "priority", "status", "attempts", "next_attempt_at", "created_at"]
    stmt = ins(Delivery).from_select(names, source).on_conflict_do_nothing(
        index_elements=["dedup_key"])
    result = await session.execute(stmt)
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


# --- WhatsApp's daily limit of business-initiated messages ------------------------------------
DAY = timedelta(hours=24)


def wa_inside_window(chat_id: Any, now: datetime) -> Any:
    """True for a WhatsApp address whose person wrote within 24 hours: a free-form message,
    not counted against the daily limit."""
    return exists().where(WaContact.id == -chat_id, WaContact.last_inbound_at > now - DAY)


async def wa_used_today(session: AsyncSession, now: datetime,
                        besides: tuple[str, int | None] | None = None) -> int:
    """Business-initiated WhatsApp messages of the last 24 hours (sent, or due now), other
    than those of `besides` (source type and id)."""
    t = Delivery.__table__
    others = true() if besides is None else ~(
        (t.c.source_type == besides[0]) & (t.c.source_id == besides[1]))
    return await session.scalar(select(func.count()).select_from(t).where(
        t.c.channel == WHATSAPP, t.c.status.in_(("queued", "sending", "sent")),
        t.c.next_attempt_at > now - DAY, t.c.next_attempt_at <= now, others,
        ~wa_inside_window(t.c.chat_id, now))) or 0


def days_needed(outside: int, used: int, limit: int) -> int:
    """Days a message to `outside` people outside the window takes under `limit` a day."""
    later = max(outside - max(limit - used, 0), 0)
    return 1 + -(-later // limit)


async def spread_over_days(session: AsyncSession, source_type: str, source_id: int | None,
                           limit: int, now: datetime) -> int:
    """Keep a message's business-initiated WhatsApp rows within `limit` a day: what today's
    room does not hold waits for the next days (`next_attempt_at` a day later per `limit`
    rows). Returns the days it takes (1: all today)."""
    t = Delivery.__table__
    room = max(limit - await wa_used_today(session, now, (source_type, source_id)), 0)
    ids = (await session.scalars(select(t.c.id).where(
        t.c.source_type == source_type, t.c.source_id == source_id, t.c.channel == WHATSAPP,
        t.c.status == "queued", ~wa_inside_window(t.c.chat_id, now)).order_by(t.c.id))).all()
    later = ids[room:]
    for day, start in enumerate(range(0, len(later), limit), start=1):
        await session.execute(update(t).where(t.c.id.in_(later[start:start + limit]))
                              .values(next_attempt_at=now + day * DAY))
    return days_needed(len(ids), limit - room, limit)


async def forget_messages(session: AsyncSession, user_id: int,
                          about: Iterable[tuple[str, int]] = ()) -> None:
    """Erasure of a person from the queue. Messages *about* them to others (`about`: source
    type and id, e.g. their coordinator request sent to staff) that still wait are cancelled.
    The bodies of those, and of every message *to* them that nobody else was sent (their
    notices, a rejection reason typed about them), are blanked; a broadcast's body, shared
    with everybody else, stays. The rows stay for the counts; nothing stays owed to them
    (bot.services.owed)."""
    t = Delivery.__table__
    await session.execute(delete(OwedMessage).where(OwedMessage.delivery_id.in_(
        select(t.c.id).where(t.c.user_id == user_id))))
    about_them = or_(false(), *[(t.c.source_type == kind) & (t.c.source_id == ref)
                                for kind, ref in about])
    await session.execute(update(t).where(about_them, t.c.status == "queued")
                          .values(status="cancelled"))
    shared = exists().where(t.c.payload_id == OutboxPayload.id,
                            or_(t.c.user_id != user_id, t.c.user_id.is_(None)))
    to_them = select(t.c.payload_id).where(t.c.user_id == user_id)
    await session.execute(
        update(OutboxPayload).where(or_(
            OutboxPayload.id.in_(to_them) & ~shared,
            OutboxPayload.id.in_(select(t.c.payload_id).where(about_them))))
        .values(body=ERASED_BODY).execution_options(synchronize_session=False))


__all__ = ["PRIORITY_BULK", "PRIORITY_PERSONAL", "Button", "DocumentWithdrawn", "OutgoingMessage",
           "Recipient", "enqueue", "enqueue_select", "forget_messages", "insert"]
