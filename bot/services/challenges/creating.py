"""Creating a challenge from the wizard's answers and publishing it (the announcement to its
audience goes through the delivery queue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.challenges.common import (
    CONTENT_KINDS,
    KINDS,
    LANGS,
    TIERS,
    TITLE_MAX,
    Notices,
    audience_recipients,
    check_schedule,
    get_challenge,
)
from bot.services.delivery import PRIORITY_BULK, enqueue, payloads_for
from bot.services.errors import DomainError
from bot.services.numbers import check_digits
from db.models.challenges import Challenge, ChallengeOption


def parse_local_time(text: str, tz: ZoneInfo, end_of_day: bool = False) -> datetime:
    """'dd.mm.yyyy hh:mm' (or just the date) in local time -> aware UTC."""
    check_digits(text)  # strptime reads every script's digits
    raw = " ".join(text.strip().split())
    # the webinar wizard's ISO forms too: staff type both in the same session
    for fmt in ("%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            value = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if fmt in ("%d.%m.%Y", "%Y-%m-%d") and end_of_day:
            value = value.replace(hour=23, minute=59)
        return value.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))
    raise DomainError("bad_date")


def parse_options(text: str) -> list[dict[str, str]]:
    """One option a line, 'kk | ru | en' (ru and en optional)."""
    options = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = [p.strip() for p in line.split("|")]
        if not any(parts):
            continue
        if not parts[0]:  # " | Драма": the Kazakh name, shown by default, is missing
            raise DomainError("option_no_kk", line=n)
        names = dict(zip(LANGS, parts, strict=False))
        if any(len(v) > TITLE_MAX for v in names.values()):
            raise DomainError("option_too_long", max=TITLE_MAX)
        if any(o["kk"].casefold() == names["kk"].casefold() for o in options):
            raise DomainError("option_twice", name=names["kk"])
        options.append(names)
    if not options:
        raise DomainError("options_empty")
    if len(options) > 30:
        raise DomainError("options_too_many", max=30)
    return options


async def create_challenge(session: AsyncSession, data: dict[str, Any], creator_id: int | None,
                           now: datetime) -> Challenge:
    """From the wizard's answers (primitives; times as ISO strings in UTC)."""
    if data.get("kind") not in KINDS:
        raise DomainError("bad_kind")
    starts_at = datetime.fromisoformat(data["starts_at"])
    deadline_at = datetime.fromisoformat(data["deadline_at"])
    check_schedule(starts_at, deadline_at, now)
    kinds = [k for k in data.get("content_kinds") or [] if k in CONTENT_KINDS]
    challenge = Challenge(
        kind=data["kind"], status="draft",
        title_kk=data["title_kk"], title_ru=data.get("title_ru"), title_en=data.get("title_en"),
        description_kk=data["description_kk"], description_ru=data.get("description_ru"),
        description_en=data.get("description_en"),
        audience={k: list(data.get("audience", {}).get(k) or [])
                  for k in ("org_types", "factions", "region_ids")},
        content_kinds=kinds, max_submissions=int(data.get("max_submissions") or 1),
        review_tiers=[t for t in TIERS if t in (data.get("review_tiers") or [])],
        cover_file_id=data.get("cover_file_id"), starts_at=starts_at, deadline_at=deadline_at,
        created_by=creator_id, created_at=now, reminders_done=[],
    )
    session.add(challenge)
    await session.flush()
    for kind, key in (("nomination", "nominations"), ("category", "categories")):
        for n, names in enumerate(data.get(key) or []):
            session.add(ChallengeOption(challenge_id=challenge.id, kind=kind, sort=n,
                                        name_kk=names["kk"], name_ru=names.get("ru"),
                                        name_en=names.get("en")))
    await session.flush()
    return challenge


async def announce(session: AsyncSession, notices: Notices, challenge: Challenge,
                   now: datetime) -> int:
    """Tell the audience once (re-running adds nothing: the queue dedups per person)."""
    recipients = await audience_recipients(session, challenge)
    payloads = payloads_for(recipients, lambda loc: notices.announcement(challenge, loc))
    challenge.announced_at = now
    return await enqueue(session, "challenge", challenge.id, recipients, payloads,
                         priority=PRIORITY_BULK, dedup_suffix="announce")


async def publish(session: AsyncSession, notices: Notices, challenge_id: int, actor: Any,
                  now: datetime) -> Challenge:
    challenge = await get_challenge(session, challenge_id)
    if challenge.status != "draft":
        raise DomainError("not_draft")
    check_schedule(challenge.starts_at, challenge.deadline_at, now)
    challenge.status = "open"
    challenge.published_at = now
    await log_activity(session, "challenge_published", actor, "challenge", challenge.id,
                       {"kind": challenge.kind})
    if challenge.starts_at <= now:
        await announce(session, notices, challenge, now)
    return challenge
