"""The students' side: the content of an entry, open challenges, joining, sending an entry
(the hot path of a contest's last evening), withdrawing it, and who joined."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.services.activity import ACTIVITY_INSERT, activity_row, log_activity
from bot.services.challenge_views import challenge_view
from bot.services.challenges.common import (
    COMMENT_MAX,
    MAX_FILE_SIZE,
    OUT_OF_RUNNING,
    TEXT_MAX,
    TIERS,
    get_challenge,
    get_options,
    in_audience,
)
from bot.services.errors import DomainError
from bot.services.text import strip_controls
from db.models import User
from db.models.challenges import Challenge, ChallengeParticipant, Submission
from db.upserts import insert_or_skip


@dataclass
class ContentPart:
    """One incoming message, reduced to what we store (nothing is downloaded)."""

    kind: str  # photo | video | document | text | link | other
    file_id: str | None = None
    file_unique_id: str | None = None
    size: int | None = None
    caption: str | None = None
    text: str | None = None
    media_group_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_part(accepted: list[str], part: ContentPart) -> None:
    kind = part.kind
    if kind == "link" and "link" not in accepted and "text" in accepted:
        kind = "text"  # a text that happens to hold a link is still a text
    if kind not in accepted:
        raise DomainError("wrong_type", kinds=accepted)
    if part.size is not None and part.size > MAX_FILE_SIZE:
        raise DomainError("too_big", mb=MAX_FILE_SIZE // (1024 * 1024))
    # control characters never get stored (an export would refuse them, see services.xlsx)
    part.text = strip_controls(part.text) if part.text is not None else None
    part.caption = strip_controls(part.caption) if part.caption is not None else None
    if part.text is not None and len(part.text) > TEXT_MAX:
        raise DomainError("text_too_long", max=TEXT_MAX)
    part.kind = kind


async def list_open(session: AsyncSession, user: Any, now: datetime) -> list[Challenge]:
    rows = (await session.scalars(
        select(Challenge).where(Challenge.status == "open", Challenge.starts_at <= now,
                                Challenge.deadline_at > now)
        .order_by(Challenge.deadline_at.desc(), Challenge.id.desc()))).all()
    return [c for c in rows if in_audience(c, user)]


def days_left(challenge: Challenge, now: datetime) -> int:
    return max(0, -(-int((challenge.deadline_at - now).total_seconds()) // 86400))


async def is_participant(session: AsyncSession, challenge_id: int, user_id: int) -> bool:
    return bool(await session.scalar(select(ChallengeParticipant.id).where(
        ChallengeParticipant.challenge_id == challenge_id,
        ChallengeParticipant.user_id == user_id)))


def _check_open(challenge: Challenge, user: Any, now: datetime) -> None:
    if challenge.status == "draft":
        raise DomainError("not_found")
    if challenge.status != "open" or challenge.deadline_at <= now:
        raise DomainError("deadline_passed")
    if challenge.starts_at > now:
        raise DomainError("not_started")
    if not in_audience(challenge, user):
        raise DomainError("not_in_audience")


async def join(session: AsyncSession, challenge_id: int, user: Any, now: datetime) -> bool:
    """True when newly joined; joining twice is harmless (one statement, no race)."""
    challenge = await challenge_view(session, challenge_id)
    _check_open(challenge, user, now)
    if getattr(user, "limited", False):  # for an action joining is the participation (I6)
        raise DomainError("limited_join")
    return await session.run_sync(_record_join, challenge, user, now)


def _record_join(session: Session, challenge: Challenge, user: Any, now: datetime) -> bool:
    connection = session.connection()
    join_once = insert_or_skip(ChallengeParticipant.__table__, connection.dialect.name,
                               "challenge_id", "user_id")
    result = connection.execute(join_once, {
        "challenge_id": challenge.id, "user_id": user.id, "joined_at": now})
    if result.rowcount == 0:
        return False
    connection.execute(ACTIVITY_INSERT, activity_row(
        "challenge_join", user, "challenge", challenge.id, {"kind": challenge.kind}))
    return True


_SUBMISSIONS = Submission.__table__  # Core, not the ORM entity: no ORM loading machinery


_ACTIVE_COUNT = select(func.count()).select_from(_SUBMISSIONS).where(
    _SUBMISSIONS.c.challenge_id == bindparam("challenge_id"),
    _SUBMISSIONS.c.user_id == bindparam("user_id"),
    _SUBMISSIONS.c.status.not_in(OUT_OF_RUNNING))


async def active_count(session: AsyncSession, challenge_id: int, user_id: int) -> int:
    return await session.scalar(_ACTIVE_COUNT, {"challenge_id": challenge_id,
                                                "user_id": user_id}) or 0


async def check_can_submit(session: AsyncSession, challenge: Challenge, user: Any,
                           now: datetime) -> None:
    _check_submittable(challenge, user, now)
    _check_limit(challenge, await active_count(session, challenge.id, user.id))


def _check_limit(challenge: Challenge, active: int) -> None:
    """`active`: the person's entries neither withdrawn nor rejected (_ACTIVE_COUNT)."""
    if active >= challenge.max_submissions:
        raise DomainError("limit_reached", max=challenge.max_submissions)


def _check_submittable(challenge: Challenge, user: Any, now: datetime) -> None:
    """Everything but the limit per person, which needs the database."""
    _check_open(challenge, user, now)
    if getattr(user, "limited", False):
        raise DomainError("limited_account")  # a minor awaiting the guardian's confirmation
    if not challenge.content_kinds:
        raise DomainError("no_submissions")


async def create_submission(
    session: AsyncSession, challenge_id: int, user: Any, parts: list[dict[str, Any]],
    nomination_id: int | None, category_id: int | None, comment: str | None, now: datetime,
) -> Submission:
    """Everything is checked again at confirmation: time may have passed since the start.
    Validate (in the order the person meets the refusals), build the row, store it."""
    challenge = await challenge_view(session, challenge_id)
    _check_submittable(challenge, user, now)
    content = _checked_content(challenge, parts)
    nomination_id, category_id = await _checked_options(session, challenge, nomination_id,
                                                        category_id)
    values = _entry_values(challenge, user, content, nomination_id, category_id,
                           _checked_comment(comment), now)
    submission_id = await session.run_sync(_store_entry, challenge, user, values, now)
    # Detached: read it, don't change it.
    return Submission(id=submission_id, **values)


def _checked_content(challenge: Challenge, parts: list[dict[str, Any]]) -> list[ContentPart]:
    if not parts:
        raise DomainError("no_content")
    content = [ContentPart(**p) for p in parts]
    for part in content:
        check_part(challenge.content_kinds or [], part)
    return content


async def _checked_options(session: AsyncSession, challenge: Challenge,
                           nomination_id: int | None, category_id: int | None,
                           ) -> tuple[int | None, int | None]:
    """The nomination and age category, one of the challenge's own if it has any (only
    contests have them); none where it has none."""
    if not (challenge.kind == "contest" or nomination_id or category_id):
        return nomination_id, category_id
    nominations, categories = await get_options(session, challenge.id)
    if nominations and nomination_id not in {o.id for o in nominations}:
        raise DomainError("choose_nomination")
    if categories and category_id not in {o.id for o in categories}:
        raise DomainError("choose_category")
    return (nomination_id if nominations else None, category_id if categories else None)


def _checked_comment(comment: str | None) -> str | None:
    comment = strip_controls(comment).strip() if comment else None
    if comment and len(comment) > COMMENT_MAX:
        raise DomainError("comment_too_long", max=COMMENT_MAX)
    return comment or None


def _media(content: list[ContentPart]) -> list[dict[str, Any]]:
    return [{"type": p.kind, "file_id": p.file_id, "file_unique_id": p.file_unique_id,
             "size": p.size, "caption": p.caption} for p in content if p.file_id]


def _entry_values(challenge: Challenge, user: Any, content: list[ContentPart],
                  nomination_id: int | None, category_id: int | None, comment: str | None,
                  now: datetime) -> dict[str, Any]:
    """The entry's row, as the INSERT stores it and the caller reads it back."""
    text_parts = [p.text for p in content if p.kind in ("text", "link")]
    media = _media(content)
    kind = "album" if len(media) > 1 else content[0].kind
    return dict(
        challenge_id=challenge.id, user_id=user.id, nomination_id=nomination_id or None,
        category_id=category_id or None, status="pending", content_kind=kind,
        text="\n".join(t for t in text_parts if t) or None, media=media,
        media_group_id=content[0].media_group_id, comment=comment,
        region_id=user.region_id, district_id=user.district_id, submitted_at=now,
        stage=next((t for t in challenge.review_tiers or [] if t in TIERS), None),
        chat_id=getattr(user, "chat_id", None))


def _store_entry(session: Session, challenge: Challenge, user: Any, values: dict[str, Any],
                 now: datetime) -> int:
    """The entry's statements (limit, join, INSERT … RETURNING, two activity rows) in one
    call into the database layer: this is the hot path of a contest's last evening, and
    through the async session each statement would be a greenlet hop and an ORM dispatch
    of its own. Nothing is written when the limit is reached."""
    connection = session.connection()
    _check_limit(challenge, connection.scalar(_ACTIVE_COUNT, {"challenge_id": challenge.id,
                                                              "user_id": user.id}) or 0)
    _record_join(session, challenge, user, now)  # submitting implies joining
    submission_id: int = connection.execute(
        _INSERT_SUBMISSION, {**values, "author_id": user.id}).scalar_one()
    connection.execute(ACTIVITY_INSERT, activity_row(
        "submission", user, "challenge", challenge.id,
        {"submission_id": submission_id, "kind": values["content_kind"]}))
    return submission_id


# The organisation is copied from the participant's row by the INSERT itself (the cached
# user the handler holds has no organisation): what it was at the moment of submitting.
_INSERT_SUBMISSION = insert(_SUBMISSIONS).values(
    org_name=select(User.__table__.c.org_name).where(
        User.__table__.c.id == bindparam("author_id")).scalar_subquery(),
    organisation_id=select(User.__table__.c.organisation_id).where(
        User.__table__.c.id == bindparam("author_id")).scalar_subquery(),
).returning(_SUBMISSIONS.c.id)


async def withdraw(session: AsyncSession, submission_id: int, user: Any,
                   now: datetime) -> Submission:
    sub = await session.get(Submission, submission_id)
    if sub is None or sub.user_id != user.id:
        raise DomainError("not_found")
    challenge = await get_challenge(session, sub.challenge_id)
    if challenge.status != "open" or challenge.deadline_at <= now:
        raise DomainError("deadline_passed")
    result = await session.execute(
        update(Submission).where(Submission.id == submission_id,
                                 Submission.status.in_(("pending", "approved")))
        .values(status="withdrawn", withdrawn_at=now))
    if result.rowcount == 0:
        raise DomainError("cannot_withdraw")
    await session.refresh(sub)
    await log_activity(session, "submission_withdrawn", user, "challenge", sub.challenge_id,
                       {"submission_id": sub.id})
    return sub


async def my_challenges(session: AsyncSession, user_id: int,
                        ) -> list[tuple[Challenge, list[Submission]]]:
    joined = (await session.scalars(
        select(Challenge).join(ChallengeParticipant,
                               ChallengeParticipant.challenge_id == Challenge.id)
        .where(ChallengeParticipant.user_id == user_id)
        .order_by(Challenge.deadline_at.desc()))).all()
    subs = (await session.scalars(select(Submission).where(Submission.user_id == user_id)
                                  .order_by(Submission.id))).all()
    by_challenge: dict[int, list[Submission]] = {}
    for s in subs:
        by_challenge.setdefault(s.challenge_id, []).append(s)
    return [(c, by_challenge.get(c.id, [])) for c in joined]


def participant_ids_select(challenge_id: int) -> Select[Any]:
    """select(user id) of everyone who joined: the broadcast audience "participants"."""
    return select(ChallengeParticipant.user_id).where(
        ChallengeParticipant.challenge_id == challenge_id)


async def recent_challenges(session: AsyncSession, limit: int = 20) -> list[Challenge]:
    return list((await session.scalars(select(Challenge).where(Challenge.status != "draft")
                                       .order_by(Challenge.id.desc()).limit(limit))).all())


async def challenge_participant_ids(session: AsyncSession, challenge_id: int) -> list[int]:
    """User ids of everyone who joined (an audience for broadcasts)."""
    return list((await session.scalars(select(ChallengeParticipant.user_id).where(
        ChallengeParticipant.challenge_id == challenge_id))).all())
