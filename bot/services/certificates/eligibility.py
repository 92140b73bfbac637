"""Who is eligible for which certificate: the source of a bulk issue and its people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.certificates.base import LOCALES, PLACES
from bot.services.errors import DomainError
from bot.services.numbers import as_int, check_digits
from db.models import (
    Challenge,
    ChallengeOption,
    ChallengeParticipant,
    Submission,
    Webinar,
    WebinarRegistration,
)

# --- sources and eligibility -----------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """What a bulk issue is for: a challenge, a webinar, or a series of webinars."""

    kind: str  # challenge | webinar | series
    id: int | None = None
    webinar_ids: tuple[int, ...] = ()
    minimum: int = 0
    title: str = ""

    @property
    def key(self) -> str:
        if self.kind == "series":
            return "series:" + ",".join(map(str, self.webinar_ids))
        return f"{self.kind}:{self.id}"


@dataclass
class Eligible:
    user_id: int
    template: str
    slot: str  # tells apart two certificates of one template, source and person
    details: dict[str, Any] = field(default_factory=dict)


def _ids(text: str) -> tuple[int, ...]:
    found: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if re.fullmatch(r"[0-9]{1,9}-[0-9]{1,9}", part):
            low, high = map(int, part.split("-"))
            if high < low or high - low > 500:
                raise DomainError("cert_usage")
            found.extend(range(low, high + 1))
        elif (number := as_int(part)) is not None:
            found.append(number)
        else:
            raise DomainError("cert_usage")
    return tuple(sorted(set(found)))


def parse_source(args: str) -> Source:
    """`challenge 5` | `webinar 3` | `series 3-17 12 Title of the series`."""
    parts = args.split(maxsplit=3)
    check_digits(" ".join(parts[:3]))
    if len(parts) == 2 and parts[0] in ("challenge", "webinar") and \
            (source_id := as_int(parts[1])) is not None:
        return Source(parts[0], source_id)
    if len(parts) >= 3 and parts[0] == "series" and (minimum := as_int(parts[2])) is not None:
        ids = _ids(parts[1])
        title = parts[3].strip() if len(parts) == 4 else ""
        if len(ids) < 2 or not 1 <= minimum <= len(ids) or len(title) > 200:
            raise DomainError("cert_usage")
        return Source("series", None, ids, minimum, title)
    raise DomainError("cert_usage")


def _names(obj: Any, method: str = "text", attr: str = "title") -> dict[str, str]:
    if method == "text":
        return {loc: obj.text(attr, loc) for loc in LOCALES}
    return {loc: obj.name(loc) for loc in LOCALES}


async def _challenge(session: AsyncSession, challenge_id: int) -> Challenge:
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None:
        raise DomainError("not_found")
    finished = ("judged",) if challenge.kind == "contest" else ("closed", "judged")
    if challenge.status not in finished:
        raise DomainError("cert_not_finished")
    return challenge


async def eligible_winners(session: AsyncSession, challenge_id: int) -> list[Eligible]:
    """Winner diplomas: entries with a place (as the results announced them); one per
    person per nomination and age category, the best place if several."""
    challenge = await _challenge(session, challenge_id)
    options = {o.id: o for o in await session.scalars(
        select(ChallengeOption).where(ChallengeOption.challenge_id == challenge_id))}
    rows = (await session.execute(
        select(Submission.user_id, Submission.place, Submission.nomination_id,
               Submission.category_id)
        .where(Submission.challenge_id == challenge_id, Submission.place.is_not(None),
               Submission.status == "approved")  # as publish_results announces places
        .order_by(Submission.id))).all()
    best: dict[tuple[int, str], Eligible] = {}
    for user_id, place, nomination_id, category_id in rows:
        if place not in PLACES:
            continue
        slot = f"{nomination_id or 0}-{category_id or 0}"
        current = best.get((user_id, slot))
        if current and PLACES.index(current.details["place"]) <= PLACES.index(place):
            continue
        nomination, category = options.get(nomination_id), options.get(category_id)
        best[(user_id, slot)] = Eligible(user_id, "winner", slot, {
            "title": _names(challenge), "kind": challenge.kind, "place": place,
            "nomination": _names(nomination, "name") if nomination else None,
            "category": _names(category, "name") if category else None,
        })
    return list(best.values())


async def eligible_participants(session: AsyncSession, challenge_id: int) -> list[Eligible]:
    """Participant certificates: an approved entry (or, for an action, joining it), and no
    place among the winners (they get the diploma instead)."""
    challenge = await _challenge(session, challenge_id)
    users = set(await session.scalars(
        select(Submission.user_id).where(Submission.challenge_id == challenge_id,
                                         Submission.status == "approved")))
    if challenge.kind == "action":
        users |= set(await session.scalars(select(ChallengeParticipant.user_id).where(
            ChallengeParticipant.challenge_id == challenge_id)))
    winners = set(await session.scalars(
        select(Submission.user_id).where(Submission.challenge_id == challenge_id,
                                         Submission.status == "approved",
                                         Submission.place.in_(PLACES))))
    details = {"title": _names(challenge), "kind": challenge.kind}
    return [Eligible(uid, "participant", "", dict(details)) for uid in sorted(users - winners)]


async def eligible_webinar(session: AsyncSession, webinar_id: int, now: datetime,
                           tz: ZoneInfo) -> list[Eligible]:
    """Attendance certificates: registered people marked as attended."""
    webinar = await session.get(Webinar, webinar_id)
    if webinar is None:
        raise DomainError("not_found")
    if webinar.status == "cancelled" or webinar.starts_at > now:
        raise DomainError("cert_not_finished")
    users = await session.scalars(
        select(WebinarRegistration.user_id)
        .where(WebinarRegistration.webinar_id == webinar_id,
               WebinarRegistration.attended_at.is_not(None),
               WebinarRegistration.status != "cancelled")
        .order_by(WebinarRegistration.user_id))
    details = {"title": _names(webinar),
               "date": webinar.starts_at.astimezone(tz).strftime("%d.%m.%Y")}
    return [Eligible(uid, "webinar", "", dict(details)) for uid in users]


async def eligible_series(session: AsyncSession, source: Source) -> list[Eligible]:
    """Series completion: attended at least `minimum` of the listed webinars."""
    found = set(await session.scalars(
        select(Webinar.id).where(Webinar.id.in_(source.webinar_ids))))
    if found != set(source.webinar_ids):
        raise DomainError("not_found")
    attended = func.count(WebinarRegistration.id)
    rows = (await session.execute(
        select(WebinarRegistration.user_id, attended)
        .where(WebinarRegistration.webinar_id.in_(source.webinar_ids),
               WebinarRegistration.attended_at.is_not(None),
               WebinarRegistration.status != "cancelled")
        .group_by(WebinarRegistration.user_id)
        .having(attended >= source.minimum)
        .order_by(WebinarRegistration.user_id))).all()
    title = {loc: source.title for loc in LOCALES}
    total = len(source.webinar_ids)
    return [Eligible(uid, "series", "", {"title": title, "attended": n, "total": total})
            for uid, n in rows]


async def eligible_for(session: AsyncSession, source: Source, now: datetime,
                       tz: ZoneInfo) -> list[Eligible]:
    if source.kind == "challenge":
        return (await eligible_winners(session, source.id or 0)
                + await eligible_participants(session, source.id or 0))
    if source.kind == "webinar":
        return await eligible_webinar(session, source.id or 0, now, tz)
    return await eligible_series(session, source)
