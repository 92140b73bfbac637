"""Changing a challenge after it was created: the audience, nominations and age categories,
and the accepted content (titles, descriptions, entries per person and the deadline are
`edit_field` and `extend` in bot.services.challenges).

Only drafts and open challenges change; a closed one is reopened by extending its deadline
first, and once the results are published nothing here changes. Every change is one row of
the activity log ("challenge_edited", with what changed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.challenges import (
    CONTENT_KINDS,
    Notices,
    announce,
    get_challenge,
    parse_options,
)
from bot.services.errors import DomainError
from bot.services.registration import FACTIONS, ORG_TYPES
from db.models.challenges import Challenge, ChallengeOption, Submission

EDITABLE_STATUSES = ("draft", "open")
OPTION_KINDS = ("nomination", "category")
OPTIONS_MAX = 30  # per kind, as the wizard allows


async def editable(session: AsyncSession, challenge_id: int) -> Challenge:
    """The challenge, if its audience and options may still change."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":
        raise DomainError("already_judged")
    if challenge.status not in EDITABLE_STATUSES:
        raise DomainError("edit_closed", n=challenge.id)
    return challenge


# --- audience ------------------------------------------------------------------------------

def clean_audience(audience: dict[str, Any], known_regions: Iterable[int]) -> dict[str, list]:
    """Only known values, each once, in a stable order; an empty list means everyone."""
    regions = set(known_regions)
    org_types = list(audience.get("org_types") or [])
    factions = list(audience.get("factions") or [])
    region_ids = list(audience.get("region_ids") or [])
    if (any(v not in ORG_TYPES for v in org_types) or any(v not in FACTIONS for v in factions)
            or any(not isinstance(v, int) or v not in regions for v in region_ids)):
        raise DomainError("bad_audience")
    return {"org_types": [v for v in ORG_TYPES if v in org_types],
            "factions": [v for v in FACTIONS if v in factions],
            "region_ids": sorted(set(region_ids))}


async def set_audience(session: AsyncSession, challenge_id: int, audience: dict[str, Any],
                       known_regions: Iterable[int], actor: Any) -> bool:
    """True when the audience changed. People who already joined stay participants."""
    challenge = await editable(session, challenge_id)
    new = clean_audience(audience, known_regions)
    old = {k: list((challenge.audience or {}).get(k) or [])
           for k in ("org_types", "factions", "region_ids")}
    if new == old:
        return False
    challenge.audience = new
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": "audience", "before": old, "after": new})
    return True


def may_announce_again(challenge: Challenge, now: datetime) -> bool:
    """An open challenge that was already announced (a later start announces by itself)."""
    return (challenge.status == "open" and challenge.announced_at is not None
            and challenge.starts_at <= now < challenge.deadline_at)


async def announce_to_newcomers(session: AsyncSession, notices: Notices, challenge_id: int,
                                actor: Any, now: datetime) -> int:
    """After the audience grew: the announcement goes to those who have not had it (the
    delivery queue keeps one announcement per person). Returns how many were queued."""
    challenge = await editable(session, challenge_id)
    if not may_announce_again(challenge, now):
        raise DomainError("announce_not_open")
    queued = await announce(session, notices, challenge, now)
    await log_activity(session, "challenge_announced", actor, "challenge", challenge_id,
                       {"queued": queued, "after": "audience"})
    return queued


# --- accepted content ----------------------------------------------------------------------

async def set_content_kinds(session: AsyncSession, challenge_id: int, kinds: Iterable[str],
                            actor: Any) -> bool:
    """True when it changed. An action may accept nothing (joining is the participation)."""
    challenge = await editable(session, challenge_id)
    chosen = set(kinds)
    if chosen - set(CONTENT_KINDS):
        raise DomainError("bad_field")
    new = [k for k in CONTENT_KINDS if k in chosen]
    if not new and challenge.kind != "action":
        raise DomainError("need_kinds")
    old = list(challenge.content_kinds or [])
    if new == old:
        return False
    challenge.content_kinds = new
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": "content_kinds", "before": old, "after": new})
    return True


# --- nominations and age categories ---------------------------------------------------------

async def options_of(session: AsyncSession, challenge_id: int,
                     kind: str) -> list[ChallengeOption]:
    return list((await session.scalars(select(ChallengeOption).where(
        ChallengeOption.challenge_id == challenge_id, ChallengeOption.kind == kind)
        .order_by(ChallengeOption.sort, ChallengeOption.id))).all())


async def option_usage(session: AsyncSession, challenge_id: int) -> dict[int, int]:
    """option id -> entries (of any status, withdrawn too) that name it."""
    usage: dict[int, int] = {}
    for column in (Submission.nomination_id, Submission.category_id):
        for option_id, n in (await session.execute(
                select(column, func.count()).where(Submission.challenge_id == challenge_id,
                                                   column.is_not(None))
                .group_by(column))).all():
            usage[option_id] = usage.get(option_id, 0) + n
    return usage


async def options_editable(session: AsyncSession, challenge_id: int, kind: str) -> Challenge:
    """The contest, if its nominations or age categories (`kind`) may change."""
    if kind not in OPTION_KINDS:
        raise DomainError("bad_field")
    challenge = await editable(session, challenge_id)
    if challenge.kind != "contest":
        raise DomainError("options_contest_only")
    return challenge


def _key(names: dict[str, str | None]) -> str:
    return (names.get("kk") or "").casefold()


async def add_options(session: AsyncSession, challenge_id: int, kind: str, text: str,
                      actor: Any) -> list[ChallengeOption]:
    """New nominations or categories, one a line as 'kk | ru | en', after the existing."""
    await options_editable(session, challenge_id, kind)
    names = parse_options(text)
    existing = await options_of(session, challenge_id, kind)
    if len(existing) + len(names) > OPTIONS_MAX:
        raise DomainError("options_too_many", max=OPTIONS_MAX)
    seen = {_key({"kk": o.name_kk}) for o in existing}
    for n in names:
        if _key(n) in seen:
            raise DomainError("option_exists")
        seen.add(_key(n))
    start = max((o.sort for o in existing), default=-1) + 1
    added = [ChallengeOption(challenge_id=challenge_id, kind=kind, sort=start + i,
                             name_kk=n["kk"], name_ru=n.get("ru"), name_en=n.get("en"))
             for i, n in enumerate(names)]
    session.add_all(added)
    await session.flush()
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": kind, "action": "add", "option_ids": [o.id for o in added]})
    return added


async def get_option(session: AsyncSession, challenge_id: int,
                     option_id: int) -> ChallengeOption:
    option = await session.get(ChallengeOption, option_id)
    if option is None or option.challenge_id != challenge_id:
        raise DomainError("not_found")
    return option


async def rename_option(session: AsyncSession, challenge_id: int, option_id: int, text: str,
                        actor: Any) -> ChallengeOption:
    """New names 'kk | ru | en' (ru and en optional: left out means none)."""
    option = await get_option(session, challenge_id, option_id)
    await options_editable(session, challenge_id, option.kind)
    names = parse_options(text)
    if len(names) != 1:
        raise DomainError("option_one_line")
    new = names[0]
    others = [o for o in await options_of(session, challenge_id, option.kind)
              if o.id != option.id]
    if _key(new) in {_key({"kk": o.name_kk}) for o in others}:
        raise DomainError("option_exists")
    before = {"kk": option.name_kk, "ru": option.name_ru, "en": option.name_en}
    option.name_kk, option.name_ru, option.name_en = new["kk"], new.get("ru"), new.get("en")
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": option.kind, "action": "rename", "option_id": option.id,
                        "before": before, "after": {"kk": new["kk"], "ru": new.get("ru"),
                                                    "en": new.get("en")}})
    return option


async def remove_option(session: AsyncSession, challenge_id: int, option_id: int,
                        actor: Any) -> ChallengeOption:
    """Only a nomination or category no entry names (not even a withdrawn one)."""
    option = await get_option(session, challenge_id, option_id)
    await options_editable(session, challenge_id, option.kind)
    used = await session.scalar(select(func.count()).select_from(Submission).where(
        Submission.challenge_id == challenge_id,
        or_(Submission.nomination_id == option.id, Submission.category_id == option.id)))
    if used:
        raise DomainError("option_in_use", n=used)
    await session.delete(option)
    await session.flush()
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": option.kind, "action": "remove", "option_id": option_id,
                        "name": option.name_kk})
    return option
