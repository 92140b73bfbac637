"""Results: places typed by staff (`parse_winner_lines`, `set_places`) and telling every
participant their outcome once (`publish_results`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.challenges.common import PLACES, Notices, get_challenge
from bot.services.delivery import PRIORITY_BULK, OutgoingMessage, Recipient, enqueue
from bot.services.errors import DomainError
from bot.services.numbers import as_int, check_digits
from db.models import User
from db.models.challenges import Challenge, ChallengeParticipant, Submission


def parse_winner_lines(text: str) -> list[tuple[int, str | None]]:
    """'<entry number> <place>' a line; place: gp, 1, 2, 3, diploma, or '-' to clear."""
    aliases = {"gp": "grand_prix", "grand_prix": "grand_prix", "1": "1", "2": "2", "3": "3",
               "d": "diploma", "diploma": "diploma", "-": None}
    check_digits(text)
    result = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.replace("#", " ").replace(",", " ").split()
        if not parts:
            continue
        entry = as_int(parts[0]) if len(parts) == 2 else None
        if entry is None or parts[1].lower() not in aliases:
            raise DomainError("winner_line", line=n)
        result.append((entry, aliases[parts[1].lower()]))
    if not result:
        raise DomainError("winner_line", line=1)
    twice = sorted({sid for sid, _ in result if [s for s, _ in result].count(sid) > 1})
    if twice:  # which of two places was meant? ask rather than let the last line win
        raise DomainError("winner_twice", numbers=", ".join(map(str, twice)))
    return result


async def set_places(session: AsyncSession, challenge_id: int,
                     places: list[tuple[int, str | None]], actor: Any) -> int:
    """All or nothing: one unknown or not approved entry refuses the whole batch, naming
    every such number (only approved entries are shown for places and may get one)."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":  # announced to every participant: places are final
        raise DomainError("already_judged")
    if challenge.status != "closed":
        raise DomainError("not_closed")
    ids = [sid for sid, _ in places]
    subs = {s.id: s for s in (await session.scalars(select(Submission).where(
        Submission.id.in_(ids), Submission.challenge_id == challenge_id))).all()}
    _check_placeable(subs, places)
    for sid, place in places:
        sub = subs[sid]
        if sub.place == place:
            continue
        before, sub.place = sub.place, place
        await _log_place(session, challenge_id, sub, before, actor)
    return len(places)


def _check_placeable(subs: dict[int, Submission], places: list[tuple[int, str | None]],
                     ) -> None:
    unknown = sorted({sid for sid, _ in places if sid not in subs})
    if unknown:
        raise DomainError("winner_unknown", numbers=", ".join(map(str, unknown)))
    # a place may still be cleared ("-") from an entry that is no longer approved
    not_approved = sorted({sid for sid, place in places
                           if place is not None and subs[sid].status != "approved"})
    if not_approved:
        raise DomainError("winner_not_approved", numbers=", ".join(map(str, not_approved)))


async def _log_place(session: AsyncSession, challenge_id: int, sub: Submission,
                     before: str | None, actor: Any) -> None:
    """A first place is the participant's win; a changed or cleared one is staff's act."""
    place = sub.place
    if place is not None and before is None:
        participant = await session.get(User, sub.user_id)
        await log_activity(session, "winner", participant, "challenge", challenge_id,
                           {"submission_id": sub.id, "place": place})
    elif place is not None:  # a new place for a winner: statistics count winners once
        await log_activity(session, "winner_changed", actor, "challenge", challenge_id,
                           {"submission_id": sub.id, "before": before, "place": place,
                            "participant": sub.user_id})
    else:  # by staff, on their own row: a cleared place is neither a win nor activity
        await log_activity(session, "winner_cleared", actor, "challenge", challenge_id,
                           {"submission_id": sub.id, "before": before,
                            "participant": sub.user_id})


async def publish_results(session: AsyncSession, notices: Notices, challenge_id: int,
                          actor: Any,
                          now: datetime) -> int:
    """Every participant hears their outcome in their language (once)."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":  # an old button, or two staff at once: the first wins
        raise DomainError("already_judged")
    if challenge.status != "closed":
        raise DomainError("not_closed")
    result = await session.execute(
        update(Challenge).where(Challenge.id == challenge_id, Challenge.status == "closed")
        .values(status="judged", results_at=now).execution_options(synchronize_session=False))
    if result.rowcount == 0:
        raise DomainError("already_judged")
    rank = {p: n for n, p in enumerate(PLACES)}
    best: dict[int, str] = {}
    for user_id, place in (await session.execute(
            select(Submission.user_id, Submission.place).where(
                Submission.challenge_id == challenge_id, Submission.place.is_not(None),
                Submission.status == "approved"))).all():
        if user_id not in best or rank[place] < rank[best[user_id]]:
            best[user_id] = place
    people = (await session.execute(
        select(User.id, User.chat_id, User.locale)
        .join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
        .where(ChallengeParticipant.challenge_id == challenge_id, User.chat_id.is_not(None),
               User.status != "erased"))).all()
    recipients = []
    payloads: dict[str, OutgoingMessage] = {}
    for uid, chat_id, loc in people:
        outcome = best.get(uid, "none")
        key = f"{loc}:{outcome}"
        recipients.append(Recipient(uid, chat_id, key))
        if key not in payloads:
            payloads[key] = notices.result(challenge, loc, outcome)
    challenge.status, challenge.results_at = "judged", now  # as stored above
    await log_activity(session, "challenge_results", actor, "challenge", challenge_id,
                       {"winners": len(best), "participants": len(people)})
    return await enqueue(session, "challenge", challenge_id, recipients, payloads,
                         priority=PRIORITY_BULK, dedup_suffix="results")
