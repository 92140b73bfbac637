"""A juror's seat on a contest's jury, as recusal sees it: nobody judges their own entry,
one from their region, or one from their organisation (where they were added and where
their profile says they are now)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import people
from bot.services.errors import DomainError
from db.models import User
from db.models.challenges import JuryMember, Submission

# region, district, organisation's name, organisation's record (see bot.services.organisations)
Place = tuple[int | None, int | None, str | None, int | None]
# Only entries that passed review go to the jury: "approved" is set by the last review tier
# (an approval at an earlier tier keeps the entry pending at the next one; see
# bot.services.challenges.review.decide). Pending, rejected and withdrawn entries are not judged.
JUDGED = ("approved",)


@dataclass(frozen=True)
class Seat:
    """A juror of one contest as recusal sees them: their region, district and organisation
    when they were added to the jury and as their profile says now (moving in /profile must
    never open their own region to them), and the entry they were last offered."""

    user_id: int
    places: tuple[Place, ...]
    offered_id: int | None = None


def org_key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def recusal(entry: Any, seat: Seat) -> str | None:
    """Why this juror may not judge this entry (its `user_id`, and `region_id`, `district_id`
    and `org_name` as stored at submission): "own_entry", "recused", or None."""
    if entry.user_id == seat.user_id:
        return "own_entry"
    for region_id, district_id, org_name, org_id in seat.places:
        if region_id is not None and entry.region_id == region_id:
            return "recused"
        if org_id is not None and getattr(entry, "organisation_id", None) == org_id:
            return "recused"  # one record, whatever the spelling (merges follow it)
        if (org_key(org_name) and org_key(entry.org_name) == org_key(org_name)
                and entry.district_id == district_id):
            return "recused"
    return None


SEATS = (select(JuryMember.user_id, JuryMember.offered_id, JuryMember.region_id,
                 JuryMember.district_id, JuryMember.org_name, JuryMember.organisation_id,
                 User.region_id.label("now_r"), User.district_id.label("now_d"),
                 User.org_name.label("now_o"), User.organisation_id.label("now_id"))
          .join(User, User.id == JuryMember.user_id))


def seat_from(row: Any) -> Seat:
    return Seat(row.user_id, ((row.region_id, row.district_id, row.org_name,
                               row.organisation_id),
                              (row.now_r, row.now_d, row.now_o, row.now_id)), row.offered_id)


async def seat_of(session: AsyncSession, challenge_id: int, user_id: int) -> Seat:
    row = (await session.execute(SEATS.where(JuryMember.challenge_id == challenge_id,
                                              JuryMember.user_id == user_id))).first()
    if row is None:
        raise DomainError("not_juror")
    return seat_from(row)


async def judged_entries(session: AsyncSession, challenge_id: int) -> list[Any]:
    return list((await session.execute(
        select(Submission.id, Submission.user_id, Submission.region_id,
               Submission.district_id, Submission.org_name, Submission.organisation_id,
               Submission.nomination_id, Submission.category_id)
        .where(Submission.challenge_id == challenge_id, Submission.status.in_(JUDGED))
        .order_by(Submission.id))).all())


async def juror_to_add(session: AsyncSession, challenge_id: int, tg_id: int) -> User:
    """The person with this Telegram id, if they can join this jury; else why not, exactly:
    not registered, waiting for approval or a guardian, refused, or already on it."""
    juror = await people.by_tg_id(session, tg_id)
    if juror is None:
        raise DomainError("juror_unknown")
    if why := people.refusal(juror):
        raise why
    if await session.scalar(select(JuryMember.id).where(
            JuryMember.challenge_id == challenge_id, JuryMember.user_id == juror.id)):
        raise DomainError("juror_already", name=people.name_of(juror))
    return juror


async def recused_from_all(session: AsyncSession, challenge_id: int, user_id: int) -> bool:
    """There are entries to judge, and this juror may judge none of them (each their own,
    from their region or organisation): they are told so, not "every entry is scored"."""
    seat = await seat_of(session, challenge_id, user_id)
    entries = await judged_entries(session, challenge_id)
    return bool(entries) and all(recusal(e, seat) for e in entries)
