"""Broadcasts: scoped audiences, the daily limit, starting, progress, acknowledgements.

Channel-agnostic: the payloads (texts, buttons) are built by the caller and handed in; this
module decides who receives them and keeps the record.

Audiences are stored as strings: `all`, `students`, `coordinators`, `org:<type>`,
`faction:<key>`, `position:<key>`, or `<provider>:<key>` (webinar registrants, challenge
participants, or what a feature adds with `register_audience`): bot.services.audience reads
them. Whatever the audience, only active people inside the author's scope are ever selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.audience import (
    PROVIDERS,
    Audience,
    AudienceProvider,
    Scope,
    register_audience,
)
from bot.services.delivery import (
    OutgoingMessage,
    days_needed,
    enqueue_select,
    spread_over_days,
    wa_inside_window,
    wa_used_today,
)
from bot.services.errors import DomainError
from bot.services.guardian import as_seen_by_others
from bot.services.numbers import check_digits
from db.base import utcnow
from db.models import ActivityLog, Broadcast, BroadcastAck, Delivery, User

SOURCE = "broadcast"  # deliveries of the message itself (one per recipient)
SOURCE_BUTTONS = "broadcast_btn"  # an album's buttons follow in a second message
SOURCE_NUDGE = "broadcast_nudge"
WA_DAILY_LIMIT = 1000  # WHATSAPP_DAILY_LIMIT's default (where no setting is at hand)
ACK_KINDS = ("received", "done")
OPEN = ("queued", "sending")


def scope_of(user: Any) -> Scope:
    """Staff: everyone; a regional coordinator: the region; a district one: the district."""
    if user.role == "staff":
        return Scope()
    if user.role == "coordinator" and user.status == "active" and user.region_id:
        if user.coordinator_level == "regional":
            return Scope(user.region_id)
        if user.district_id:
            return Scope(user.region_id, user.district_id)
    raise DomainError("bc_not_allowed")


def narrow(scope: Scope, region_id: int | None, district_id: int | None,
           district_region: int | None = None) -> Scope:
    """A smaller area inside `scope` (a region for staff, a district for a regional one)."""
    if district_id is not None:
        region_id = district_region
    target = Scope(region_id if region_id is not None else scope.region_id,
                   district_id if district_id is not None else scope.district_id)
    if not scope.contains(target.region_id, target.district_id) or (
            district_id is not None and region_id is None):
        raise DomainError("bc_out_of_scope")
    return target


# --- audiences ----------------------------------------------------------------------------
async def people(session: AsyncSession, scope: Scope, audience: str,
                 exclude_user: int | None = None, key: Any = None) -> Select[Any]:
    """select(User.id, User.chat_id, payload key) of everyone the broadcast reaches."""
    conds = [User.status == "active", User.chat_id.is_not(None), User.blocked_bot.is_(False),
             *await Audience.parse(audience).conditions(session, scope)]
    if exclude_user is not None:
        conds.append(User.id != exclude_user)
    return select(User.id, User.chat_id, (key if key is not None else User.locale)
                  .label("key")).where(and_(*conds))


async def count_people(session: AsyncSession, scope: Scope, audience: str,
                       exclude_user: int | None = None) -> int:
    query = await people(session, scope, audience, exclude_user)
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0


# --- the record ---------------------------------------------------------------------------
def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


async def used_today(session: AsyncSession, author_id: int, now: datetime, tz: ZoneInfo) -> int:
    """Broadcasts confirmed today (local day); one cancelled before it started is free."""
    return await session.scalar(
        select(func.count()).select_from(Broadcast).where(
            Broadcast.author_id == author_id, Broadcast.created_at >= day_start(now, tz),
            or_(Broadcast.status != "cancelled", Broadcast.started_at.is_not(None)))) or 0


async def check_daily_limit(session: AsyncSession, author: Any, limit: int, now: datetime,
                            tz: ZoneInfo) -> None:
    if author.role == "staff":
        return
    if await used_today(session, author.id, now, tz) >= limit:
        raise DomainError("bc_daily_limit", limit=limit)


async def create(session: AsyncSession, author: Any, *, content: dict[str, Any],
                 audience: str, scope: Scope, ack: str | None, parent_id: int | None,
                 locale: str, now: datetime, scheduled_at: datetime | None,
                 limit: int, tz: ZoneInfo) -> Broadcast:
    """Record a confirmed broadcast (not yet queued); checks scope, audience and limit."""
    Audience.parse(audience)
    if not scope_of(author).contains(scope.region_id, scope.district_id):
        raise DomainError("bc_out_of_scope")
    if ack is not None and ack not in ACK_KINDS:
        raise DomainError("bc_bad_audience")
    if scheduled_at is not None and scheduled_at <= now:
        raise DomainError("bc_past")
    await check_daily_limit(session, author, limit, now, tz)
    bc = Broadcast(author_id=author.id, parent_id=parent_id, content=content,
                   audience=audience, region_id=scope.region_id, district_id=scope.district_id,
                   ack=ack, cascade=author.role == "staff" or
                   getattr(author, "coordinator_level", None) == "regional",
                   status="scheduled" if scheduled_at else "sending", locale=locale,
                   scheduled_at=scheduled_at, created_at=now, recipients=0, nudges=0)
    session.add(bc)
    await session.flush()
    await log_activity(session, "broadcast_scheduled" if scheduled_at else "broadcast_created",
                       author, "broadcast", bc.id,
                       {"audience": audience, "parent_id": parent_id,
                        "scheduled_at": scheduled_at.isoformat() if scheduled_at else None})
    return bc


def payload_key(bc: Broadcast) -> Any:
    """Coordinators of a cascading broadcast get their own payload (with "Forward")."""
    if not bc.cascade:
        return None
    return User.locale + case((User.role == "coordinator", "|c"), else_="")


async def whatsapp_days(session: AsyncSession, scope: Scope, audience: str,
                        exclude_user: int | None, limit: int, now: datetime) -> tuple[int, int]:
    """(people on WhatsApp outside the 24-hour window, days the broadcast takes for them
    under WhatsApp's daily limit of `limit` such messages): told to the author before sending."""
    sub = (await people(session, scope, audience, exclude_user)).subquery()
    outside = await session.scalar(select(func.count()).select_from(sub).where(
        sub.c.chat_id < 0, ~wa_inside_window(sub.c.chat_id, now))) or 0
    return outside, days_needed(outside, await wa_used_today(session, now), limit)


async def start(session: AsyncSession, bc: Broadcast, payloads: dict[str, OutgoingMessage],
                buttons: dict[str, OutgoingMessage] | None, now: datetime,
                whatsapp_limit: int = WA_DAILY_LIMIT) -> int:
    """Queue the broadcast to its audience (idempotent); returns the recipient count.

    `buttons`: for albums (which cannot carry buttons) the follow-up message per key.
    WhatsApp people outside the 24-hour window beyond `whatsapp_limit` a day are queued for
    the next days (bot.services.delivery.spread_over_days).
    """
    scope = Scope(bc.region_id, bc.district_id)
    who = await people(session, scope, bc.audience, bc.author_id, payload_key(bc))
    added = await enqueue_select(session, SOURCE, bc.id, who, payloads)
    await spread_over_days(session, SOURCE, bc.id, whatsapp_limit, now)
    if buttons:  # only those whose payload has buttons get the follow-up
        sub = who.subquery()
        await enqueue_select(session, SOURCE_BUTTONS, bc.id,
                             select(sub.c.id, sub.c.chat_id, sub.c.key)
                             .where(sub.c.key.in_(list(buttons))), buttons)
    bc.recipients = await session.scalar(
        select(func.count()).select_from(Delivery).where(
            Delivery.source_type == SOURCE, Delivery.source_id == bc.id)) or added
    bc.status, bc.started_at = "sending", bc.started_at or now
    author = await session.get(User, bc.author_id) if bc.author_id else None
    await log_activity(session, "broadcast_sent", author, "broadcast", bc.id,
                       {"audience": bc.audience, "recipients": bc.recipients})
    return bc.recipients


async def due_scheduled(session: AsyncSession, now: datetime) -> list[Broadcast]:
    return list((await session.scalars(
        select(Broadcast).where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now)
        .order_by(Broadcast.scheduled_at))).all())


async def running(session: AsyncSession) -> list[Broadcast]:
    return list((await session.scalars(
        select(Broadcast).where(Broadcast.status == "sending"))).all())


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    remaining: int

    @property
    def finished(self) -> bool:
        return self.remaining == 0


async def progress(session: AsyncSession, bc_id: int) -> Progress:
    rows = dict((await session.execute(
        select(Delivery.status, func.count()).where(
            Delivery.source_type == SOURCE, Delivery.source_id == bc_id)
        .group_by(Delivery.status))).all())
    remaining = rows.get("queued", 0) + rows.get("sending", 0)
    if not remaining:  # an album's buttons still on their way count as not finished
        remaining = await session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.source_type == SOURCE_BUTTONS, Delivery.source_id == bc_id,
            Delivery.status.in_(OPEN))) or 0
    return Progress(total=sum(rows.values()), sent=rows.get("sent", 0),
                    failed=rows.get("failed", 0), blocked=rows.get("blocked", 0),
                    cancelled=rows.get("cancelled", 0), remaining=remaining)


async def finish(session: AsyncSession, bc: Broadcast, now: datetime) -> None:
    bc.status, bc.finished_at = "done", now


async def get_own(session: AsyncSession, user: Any, bc_id: int) -> Broadcast:
    """A broadcast its author (or staff) may manage; anything else is 'not found'."""
    bc = await session.get(Broadcast, bc_id)
    if bc is None or (bc.author_id != user.id and user.role != "staff"):
        raise DomainError("not_found")
    return bc


async def cancel(session: AsyncSession, user: Any, bc_id: int, now: datetime) -> Broadcast:
    bc = await get_own(session, user, bc_id)
    if bc.status not in ("scheduled", "sending"):
        raise DomainError("bc_already_finished")
    await session.execute(
        update(Delivery).where(Delivery.source_type.in_((SOURCE, SOURCE_BUTTONS)),
                               Delivery.source_id == bc.id, Delivery.status == "queued")
        .values(status="cancelled"))
    bc.status, bc.finished_at = "cancelled", now
    await log_activity(session, "broadcast_cancelled", user, "broadcast", bc.id)
    return bc


async def list_own(session: AsyncSession, user: Any, limit: int = 10) -> list[Broadcast]:
    return list((await session.scalars(
        select(Broadcast).where(Broadcast.author_id == user.id)
        .order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(limit))).all())


async def ack_counts(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict((await session.execute(
        select(BroadcastAck.broadcast_id, func.count()).where(
            BroadcastAck.broadcast_id.in_(ids)).group_by(BroadcastAck.broadcast_id))).all())


async def was_recipient(session: AsyncSession, bc_id: int, user_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(
        Delivery.source_type == SOURCE, Delivery.source_id == bc_id,
        Delivery.user_id == user_id, Delivery.status == "sent"))))


async def acknowledge(session: AsyncSession, user: Any, bc_id: int, now: datetime) -> bool:
    """Record "✅ Received"; False when it was already recorded."""
    bc = await session.get(Broadcast, bc_id)
    if bc is None or bc.ack is None or not await was_recipient(session, bc_id, user.id):
        raise DomainError("not_found")
    done = await session.scalar(select(exists().where(
        BroadcastAck.broadcast_id == bc_id, BroadcastAck.user_id == user.id)))
    if done:
        return False
    session.add(BroadcastAck(broadcast_id=bc_id, user_id=user.id, at=now))
    await log_activity(session, "broadcast_ack", user, "broadcast", bc_id)
    return True


@dataclass(frozen=True)
class AckReport:
    delivered: int
    acknowledged: int
    groups: list[tuple[str, int, int]]  # (group, acknowledged, delivered), by group key
    missing: list[tuple[str, str]]  # (name, organisation or "") of those who have not, first N


async def ack_report(session: AsyncSession, bc: Broadcast, by: str,
                     limit: int = 40, waiting: str = "—") -> AckReport:
    """`by` = "district" (id as text) or "school" (organisation name). A minor waiting for a
    guardian's confirmation is counted, but named only as `waiting`."""
    acked = exists().where(BroadcastAck.broadcast_id == bc.id,
                           BroadcastAck.user_id == User.id)
    base = (select(User.id).join(Delivery, Delivery.user_id == User.id)
            .where(Delivery.source_type == SOURCE, Delivery.source_id == bc.id,
                   Delivery.status == "sent"))
    # By school, the minors waiting for a guardian make a group of their own (counted, their
    # school not named).
    group_col = User.district_id if by == "district" else case(
        (User.limited.is_(True), literal(waiting)), else_=User.org_name)
    rows = (await session.execute(
        select(group_col, func.count(), func.sum(case((acked, 1), else_=0)))
        .join(Delivery, Delivery.user_id == User.id)
        .where(Delivery.source_type == SOURCE, Delivery.source_id == bc.id,
               Delivery.status == "sent")
        .group_by(group_col).order_by(group_col))).all()
    groups = [(str(g) if g is not None else "", int(a or 0), int(n)) for g, n, a in rows]
    missing = [as_seen_by_others(limited, name or "—", org or "—", waiting)
               for name, org, limited in (await session.execute(
                   select(User.full_name, User.org_name, User.limited)
                   .where(User.id.in_(base), ~acked)
                   .order_by(User.limited, User.org_name, User.full_name).limit(limit))).all()]
    return AckReport(delivered=sum(n for _, _, n in groups),
                     acknowledged=sum(a for _, a, _ in groups),
                     groups=groups, missing=missing)


NUDGE_GAP = timedelta(hours=12)


async def nudge(session: AsyncSession, user: Any, bc: Broadcast,
                payloads: dict[str, OutgoingMessage]) -> int:
    """Remind those who received the broadcast but have not acknowledged it; at most once in
    NUDGE_GAP, so a second tap does not message the same people again."""
    if bc.ack is None:
        raise DomainError("not_found")
    since = utcnow() - NUDGE_GAP  # the activity log's own clock
    if await session.scalar(select(ActivityLog.id).where(
            ActivityLog.kind == "broadcast_nudge", ActivityLog.ref_type == "broadcast",
            ActivityLog.ref_id == bc.id, ActivityLog.at > since).limit(1)) is not None:
        raise DomainError("nudge_too_soon", hours=int(NUDGE_GAP.total_seconds() // 3600))
    acked = exists().where(BroadcastAck.broadcast_id == bc.id,
                           BroadcastAck.user_id == User.id)
    who = (select(User.id, User.chat_id, User.locale)
           .join(Delivery, Delivery.user_id == User.id)
           .where(Delivery.source_type == SOURCE, Delivery.source_id == bc.id,
                  Delivery.status == "sent", User.status == "active", ~acked))
    bc.nudges += 1
    added = await enqueue_select(session, SOURCE_NUDGE, bc.id, who, payloads,
                                 dedup_suffix=f"n{bc.nudges}")
    if added:  # a reminder that reached nobody must not hold back the next one
        await log_activity(session, "broadcast_nudge", user, "broadcast", bc.id,
                           {"recipients": added})
    return added


async def forwardable(session: AsyncSession, user: Any, bc_id: int) -> Broadcast:
    """A cascading broadcast this coordinator received: they may pass it on."""
    bc = await session.get(Broadcast, bc_id)
    if bc is None or not bc.cascade or user.role != "coordinator" or \
            not await was_recipient(session, bc_id, user.id):
        raise DomainError("not_found")
    return bc


def eta_seconds(remaining: int, rate: float) -> int:
    return int(remaining / rate) + (1 if remaining else 0)


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """'25.12.2026 15:00' in local time → aware UTC; DomainError when malformed."""
    check_digits(text)  # strptime reads every script's digits
    for fmt in ("%d.%m.%Y %H:%M", "%d.%m.%y %H:%M", "%Y-%m-%d %H:%M"):
        try:
            local = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))
    raise DomainError("bc_bad_time")


__all__ = ["PROVIDERS", "Audience", "AudienceProvider", "Scope", "register_audience",
           "scope_of"]
