"""Challenges, actions and contests: create, publish, join, submit, review, close, judge.

Channel-agnostic: handlers (Telegram today, WhatsApp later) turn messages into
`ContentPart`s and DomainError codes into text. Messages to other people go through the
delivery queue: these services decide who hears what and when; what it says, in each
language, is the `Notices` they are given (bot.notices.challenges).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.services.activity import ACTIVITY_INSERT, activity_row, log_activity
from bot.services.challenge_views import challenge_view
from bot.services.delivery import (
    PRIORITY_BULK,
    PRIORITY_PERSONAL,
    OutgoingMessage,
    Recipient,
    enqueue,
)
from bot.services.errors import DomainError
from bot.services.guardian import CONFIRMED, as_seen_by_others
from bot.services.numbers import as_int, check_digits, typed_int
from bot.services.text import strip_controls
from db.models import User
from db.models.challenges import Challenge, ChallengeOption, ChallengeParticipant, Submission
from db.upserts import insert_or_skip

logger = logging.getLogger(__name__)

KINDS = ("challenge", "action", "contest")
STATUSES = ("draft", "open", "closed", "judged")
CONTENT_KINDS = ("photo", "video", "document", "text", "link")
PLACES = ("grand_prix", "1", "2", "3", "diploma")
REJECT_REASONS = ("off_topic", "quality", "incomplete", "duplicate", "rules")
MAX_FILE_SIZE = 50 * 1024 * 1024  # what a bot can later fetch or forward reliably
MAX_ALBUM = 10
MAX_SUBMISSIONS_LIMIT = 50
REMINDER_DAYS = (3, 1)
TITLE_MAX = 200
DESCRIPTION_MAX = 3000
COMMENT_MAX = 1000
TEXT_MAX = 4000
LANGS = ("kk", "ru", "en")


class Notices(Protocol):
    """The messages challenges send to other people, one per locale (bot.notices.challenges
    builds them); `tz`: the local time zone their days are counted in."""

    tz: ZoneInfo

    def announcement(self, challenge: Challenge, locale: str) -> OutgoingMessage: ...

    def decision(self, submission_id: int, challenge: Challenge, locale: str, approved: bool,
                 reason: str | None) -> OutgoingMessage: ...

    def reminder(self, challenge: Challenge, locale: str, now: datetime) -> OutgoingMessage: ...

    def school_invite(self, challenge: Challenge, locale: str) -> OutgoingMessage: ...

    def result(self, challenge: Challenge, locale: str, outcome: str) -> OutgoingMessage: ...

    def jury_invitation(self, challenge: Challenge, locale: str) -> OutgoingMessage: ...


# --- content ---------------------------------------------------------------------------

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


# --- creating --------------------------------------------------------------------------

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


def check_text(field: str, value: str) -> str:
    value = value.strip()
    limit = TITLE_MAX if field.startswith("title") else DESCRIPTION_MAX
    if not value or len(value) > limit:
        raise DomainError("text_length", max=limit)
    return value


def check_schedule(starts_at: datetime, deadline_at: datetime, now: datetime) -> None:
    if deadline_at <= now:
        raise DomainError("deadline_past")
    if deadline_at <= starts_at:
        raise DomainError("deadline_before_start")


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


async def get_challenge(session: AsyncSession, challenge_id: int) -> Challenge:
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None:
        raise DomainError("not_found")
    return challenge


async def get_options(session: AsyncSession, challenge_id: int,
                      ) -> tuple[list[ChallengeOption], list[ChallengeOption]]:
    rows = (await session.scalars(
        select(ChallengeOption).where(ChallengeOption.challenge_id == challenge_id)
        .order_by(ChallengeOption.kind, ChallengeOption.sort))).all()
    return ([o for o in rows if o.kind == "nomination"], [o for o in rows if o.kind == "category"])


def audience_conditions(audience: dict[str, list]) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if audience.get("org_types"):
        conds.append(User.org_type.in_(audience["org_types"]))
    if audience.get("factions"):
        conds.append(User.faction.in_(audience["factions"]))
    if audience.get("region_ids"):
        conds.append(User.region_id.in_(audience["region_ids"]))
    return conds


def in_audience(challenge: Challenge, user: Any) -> bool:
    role = getattr(user, "role", None)
    if role == "staff":
        return True
    aud = challenge.audience or {}
    if role == "coordinator":  # they follow every challenge of their region
        return not aud.get("region_ids") or user.region_id in aud["region_ids"]
    return all(not aud.get(key) or getattr(user, attr, None) in aud[key]
               for key, attr in (("org_types", "org_type"), ("factions", "faction"),
                                 ("region_ids", "region_id")))


async def audience_recipients(session: AsyncSession, challenge: Challenge) -> list[Recipient]:
    rows = (await session.execute(
        select(User.id, User.chat_id, User.locale).where(
            User.role.in_(("student", "coordinator")), User.status == "active",
            User.chat_id.is_not(None), User.blocked_bot.is_(False),
            *audience_conditions(challenge.audience or {})))).all()
    return [Recipient(uid, chat, loc) for uid, chat, loc in rows]


def is_open(challenge: Challenge, now: datetime) -> bool:
    return (challenge.status == "open" and challenge.starts_at <= now
            and challenge.deadline_at > now)


async def announce(session: AsyncSession, notices: Notices, challenge: Challenge,
                   now: datetime) -> int:
    """Tell the audience once (re-running adds nothing: the queue dedups per person)."""
    recipients = await audience_recipients(session, challenge)
    payloads = {loc: notices.announcement(challenge, loc)
                for loc in {r.payload_key for r in recipients}}
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


# --- students ---------------------------------------------------------------------------

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
# Entries that no longer count as sent: for the limit per person and for "has not sent yet".
# A rejected entry is out of the running and cannot be withdrawn: it must not use up a place.
OUT_OF_RUNNING = ("withdrawn", "rejected")
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
    """Everything is checked again at confirmation: time may have passed since the start."""
    challenge = await challenge_view(session, challenge_id)
    _check_submittable(challenge, user, now)
    if not parts:
        raise DomainError("no_content")
    content = [ContentPart(**p) for p in parts]
    for part in content:
        check_part(challenge.content_kinds or [], part)
    if challenge.kind == "contest" or nomination_id or category_id:  # only contests have them
        nominations, categories = await get_options(session, challenge_id)
        if nominations and nomination_id not in {o.id for o in nominations}:
            raise DomainError("choose_nomination")
        if categories and category_id not in {o.id for o in categories}:
            raise DomainError("choose_category")
        if not nominations:
            nomination_id = None
        if not categories:
            category_id = None
    comment = strip_controls(comment).strip() if comment else None
    if comment and len(comment) > COMMENT_MAX:
        raise DomainError("comment_too_long", max=COMMENT_MAX)
    text_parts = [p.text for p in content if p.kind in ("text", "link")]
    media = [{"type": p.kind, "file_id": p.file_id, "file_unique_id": p.file_unique_id,
              "size": p.size, "caption": p.caption} for p in content if p.file_id]
    kind = "album" if len(media) > 1 else content[0].kind
    values = dict(
        challenge_id=challenge_id, user_id=user.id, nomination_id=nomination_id or None,
        category_id=category_id or None, status="pending", content_kind=kind,
        text="\n".join(t for t in text_parts if t) or None, media=media,
        media_group_id=content[0].media_group_id, comment=comment or None,
        region_id=user.region_id, district_id=user.district_id, submitted_at=now,
        stage=next((t for t in challenge.review_tiers or [] if t in TIERS), None),
        chat_id=getattr(user, "chat_id", None))
    submission_id = await session.run_sync(_store_entry, challenge, user, values, now)
    # Detached: read it, don't change it.
    return Submission(id=submission_id, **values)


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


# --- review -----------------------------------------------------------------------------

TIERS = ("district", "regional")


def place_conditions(reviewer: Any) -> list[ColumnElement[bool]]:
    if reviewer.role == "staff":
        return []
    if reviewer.coordinator_level == "district" and reviewer.district_id:
        return [Submission.district_id == reviewer.district_id]
    if reviewer.region_id:
        return [Submission.region_id == reviewer.region_id]
    return [Submission.id < 0]  # a coordinator without a scope sees nothing


def stage_conditions(reviewer: Any) -> list[ColumnElement[bool]]:
    """Untiered entries: any coordinator of the scope; tiered: that tier's coordinators. A
    regional coordinator also pre-screens for a district that has no district coordinator
    (else its entries would wait for staff, unseen by anyone of the area)."""
    if reviewer.role == "staff":
        return []
    untiered = Submission.stage.is_(None)
    if reviewer.coordinator_level == "district":
        return [untiered | (Submission.stage == "district")]
    covered = select(User.district_id).where(
        User.role == "coordinator", User.coordinator_level == "district",
        User.status == "active", User.district_id.is_not(None))
    uncovered = Submission.district_id.is_(None) | Submission.district_id.not_in(covered)
    return [untiered | (Submission.stage == "regional")
            | ((Submission.stage == "district") & uncovered)]


def scope_conditions(reviewer: Any) -> list[ColumnElement[bool]]:
    return place_conditions(reviewer) + stage_conditions(reviewer)


async def next_pending(session: AsyncSession, reviewer: Any, after_id: int = 0,
                       ) -> Submission | None:
    base = select(Submission).where(Submission.status == "pending", *scope_conditions(reviewer))
    sub = await session.scalar(base.where(Submission.id > after_id).order_by(Submission.id)
                               .limit(1))
    if sub is None and after_id:
        sub = await session.scalar(base.order_by(Submission.id).limit(1))
    return sub


async def pending_count(session: AsyncSession, reviewer: Any) -> int:
    return await session.scalar(select(func.count()).select_from(Submission).where(
        Submission.status == "pending", *scope_conditions(reviewer))) or 0


async def get_in_scope(session: AsyncSession, submission_id: int, reviewer: Any) -> Submission:
    sub = await session.scalar(select(Submission).where(Submission.id == submission_id,
                                                        *place_conditions(reviewer)))
    if sub is None:
        raise DomainError("not_found")
    return sub


async def decide(session: AsyncSession, notices: Notices, submission_id: int, reviewer: Any,
                 approve: bool, reason: str | None, now: datetime) -> Submission:
    """Guarded: of two reviewers deciding at once, the second gets `already_reviewed`.

    With review tiers, approval at a tier hands the entry on to the next one; only the last
    tier's approval is final (and then the entry goes to the jury).
    """
    sub = await get_in_scope(session, submission_id, reviewer)
    stage = sub.stage
    if sub.status != "pending":
        raise DomainError("already_reviewed")
    challenge = await get_challenge(session, sub.challenge_id)
    tiers = [t for t in challenge.review_tiers or [] if t in TIERS]
    later = tiers[tiers.index(stage) + 1:] if stage in tiers else []
    same_stage = Submission.stage.is_(None) if stage is None else Submission.stage == stage
    # the reviewer's tier is checked here, in the guarded UPDATE: not this tier's entry (or
    # moved on meanwhile) reads as already reviewed, like a race lost to another reviewer
    guard = update(Submission).where(Submission.id == submission_id,
                                     Submission.status == "pending", same_stage,
                                     *stage_conditions(reviewer))
    if approve and later:
        result = await session.execute(
            guard.values(stage=later[0], reviewed_by=reviewer.id, reviewed_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount == 0:
            raise DomainError("already_reviewed")
        await session.refresh(sub)
        participant = await session.get(User, sub.user_id)
        await log_activity(session, "submission_promoted", participant, "challenge",
                           sub.challenge_id, {"submission_id": sub.id, "by": reviewer.id,
                                              "stage": later[0]})
        return sub
    status = "approved" if approve else "rejected"
    result = await session.execute(
        guard.values(status=status, reviewed_by=reviewer.id, reviewed_at=now,
                     reject_reason=None if approve else (strip_controls(reason or "")
                                                         or None))
        .execution_options(synchronize_session=False))
    if result.rowcount == 0:
        raise DomainError("already_reviewed")
    await session.refresh(sub)
    participant = await session.get(User, sub.user_id)
    await log_activity(session, f"submission_{status}", participant, "challenge",
                       sub.challenge_id, {"submission_id": sub.id, "by": reviewer.id})
    if participant is not None and participant.chat_id:
        challenge = await get_challenge(session, sub.challenge_id)
        message = notices.decision(sub.id, challenge, participant.locale, approve, reason)
        await enqueue(session, "submission", sub.id, [Recipient(participant.id,
                      participant.chat_id, "one")], {"one": message},
                      priority=PRIORITY_PERSONAL, dedup_suffix=status)
    return sub


def user_scope_conditions(viewer: Any) -> list[ColumnElement[bool]]:
    """People a coordinator looks after (staff: everyone)."""
    if viewer.role == "staff":
        return []
    if viewer.coordinator_level == "district" and viewer.district_id:
        return [User.district_id == viewer.district_id]
    if viewer.region_id:
        return [User.region_id == viewer.region_id]
    return [User.id < 0]


def _submitted_ids(challenge_id: int) -> Select[Any]:
    return select(Submission.user_id).where(Submission.challenge_id == challenge_id,
                                            Submission.status.not_in(OUT_OF_RUNNING))


async def not_submitted(session: AsyncSession, challenge_id: int, viewer: Any) -> list[User]:
    """Joined but no entry yet, within the viewer's scope. A minor waiting for a guardian
    cannot send one: not listed (by name) and not nudged."""
    return list((await session.scalars(
        select(User).join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
        .where(ChallengeParticipant.challenge_id == challenge_id, User.status == "active",
               CONFIRMED, User.id.not_in(_submitted_ids(challenge_id)),
               *user_scope_conditions(viewer))
        .order_by(User.org_name, User.full_name))).all())


async def schools_without_entries(session: AsyncSession, challenge_id: int, viewer: Any,
                                  ) -> list[tuple[int | None, str]]:
    """(district id, organisation) of the viewer's scope and the audience with no entry."""
    challenge = await get_challenge(session, challenge_id)
    base = [User.role == "student", User.status == "active", User.org_name.is_not(None),
            CONFIRMED, *user_scope_conditions(viewer),
            *audience_conditions(challenge.audience or {})]
    every = set((await session.execute(
        select(User.district_id, User.org_name).where(*base).distinct())).all())
    with_entries = set((await session.execute(
        select(User.district_id, User.org_name).where(
            *base, User.id.in_(_submitted_ids(challenge_id))).distinct())).all())
    return sorted(every - with_entries, key=lambda r: (r[0] or 0, r[1] or ""))


async def nudge(session: AsyncSession, notices: Notices, challenge_id: int, viewer: Any,
                now: datetime, reader: AsyncSession | None = None) -> int:
    """Remind who joined but has not sent an entry (once a day per coordinator).

    Who that is is read through `reader` (a long read: see db.engine.create_read_engine);
    the messages are queued through `session`."""
    reader = reader or session
    challenge = await get_challenge(reader, challenge_id)
    if not is_open(challenge, now):
        raise DomainError("deadline_passed")
    people = [Recipient(u.id, u.chat_id, u.locale)
              for u in await not_submitted(reader, challenge_id, viewer) if u.chat_id]
    queued = await _queue_nudge(session, notices.tz, challenge, viewer, people, now,
                                lambda loc: notices.reminder(challenge, loc, now))
    await log_activity(session, "challenge_nudge", viewer, "challenge", challenge_id,
                       {"queued": queued})
    return queued


async def nudge_schools(session: AsyncSession, notices: Notices, challenge_id: int, viewer: Any,
                        now: datetime, reader: AsyncSession | None = None) -> int:
    """Invite the students of the viewer's schools that have no entry yet (once a day per
    coordinator; whoever also got the joined-but-not-sent reminder today gets one message).
    Read through `reader`, queued through `session`, as `nudge`."""
    reader = reader or session
    challenge = await get_challenge(reader, challenge_id)
    if not is_open(challenge, now):
        raise DomainError("deadline_passed")
    schools = set(await schools_without_entries(reader, challenge_id, viewer))
    rows = (await reader.execute(select(
        User.id, User.chat_id, User.locale, User.district_id, User.org_name).where(
        User.role == "student", User.status == "active", User.chat_id.is_not(None), CONFIRMED,
        *user_scope_conditions(viewer), *audience_conditions(challenge.audience or {})))).all()
    people = [Recipient(r.id, r.chat_id, r.locale) for r in rows
              if (r.district_id, r.org_name) in schools]
    queued = await _queue_nudge(session, notices.tz, challenge, viewer, people, now,
                                lambda loc: notices.school_invite(challenge, loc))
    await log_activity(session, "challenge_nudge_schools", viewer, "challenge", challenge_id,
                       {"schools": len(schools), "queued": queued})
    return queued


async def _queue_nudge(session: AsyncSession, tz: ZoneInfo, challenge: Challenge, viewer: Any,
                       people: list[Recipient], now: datetime,
                       message: Callable[[str], OutgoingMessage]) -> int:
    """One message a language; a person hears from one coordinator once a day, whichever of
    the two nudges came first."""
    payloads = {loc: message(loc) for loc in {p.payload_key for p in people}}
    day = now.astimezone(tz).strftime("%Y%m%d")
    return await enqueue(session, "challenge", challenge.id, people, payloads,
                         priority=PRIORITY_PERSONAL, dedup_suffix=f"nudge{viewer.id}:{day}")


# --- staff --------------------------------------------------------------------------------

async def staff_list(session: AsyncSession) -> list[tuple[Challenge, int, int]]:
    """Every challenge with (participants, active submissions), newest first."""
    parts = dict((await session.execute(
        select(ChallengeParticipant.challenge_id, func.count())
        .group_by(ChallengeParticipant.challenge_id))).all())
    subs = dict((await session.execute(
        select(Submission.challenge_id, func.count()).where(Submission.status != "withdrawn")
        .group_by(Submission.challenge_id))).all())
    rows = (await session.scalars(select(Challenge).order_by(Challenge.id.desc()))).all()
    return [(c, parts.get(c.id, 0), subs.get(c.id, 0)) for c in rows]


EDITABLE = ("title_kk", "title_ru", "title_en", "description_kk", "description_ru",
            "description_en", "max_submissions")


async def edit_field(session: AsyncSession, challenge_id: int, field: str, value: str,
                     actor: Any) -> Challenge:
    """Drafts and open challenges only, as in bot.services.challenge_edit.editable."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":
        raise DomainError("already_judged")
    if challenge.status not in ("draft", "open"):
        raise DomainError("edit_closed", n=challenge.id)
    if field not in EDITABLE:
        raise DomainError("bad_field")
    if field == "max_submissions":
        number = typed_int(value)
        if number is None or not 1 <= number <= MAX_SUBMISSIONS_LIMIT:
            raise DomainError("bad_number", max=MAX_SUBMISSIONS_LIMIT)
        challenge.max_submissions = number
    else:
        setattr(challenge, field, check_text(field, value))
    await log_activity(session, "challenge_edited", actor, "challenge", challenge_id,
                       {"field": field})
    return challenge


async def extend(session: AsyncSession, challenge_id: int, deadline_at: datetime, actor: Any,
                 now: datetime) -> Challenge:
    """A new deadline; a challenge that closed (but has no results yet) opens again."""
    challenge = await get_challenge(session, challenge_id)
    if challenge.status == "judged":
        raise DomainError("already_judged")
    check_schedule(challenge.starts_at, deadline_at, now)
    if challenge.status == "open" and deadline_at <= challenge.deadline_at:
        raise DomainError("extend_earlier")  # ending early is "Close now", which says so
    challenge.deadline_at = deadline_at
    challenge.reminders_done = []
    if challenge.status == "closed":
        challenge.status, challenge.closed_at = "open", None
    await log_activity(session, "challenge_extended", actor, "challenge", challenge_id,
                       {"deadline_at": deadline_at.isoformat()})
    return challenge


async def close(session: AsyncSession, challenge_id: int, actor: Any, now: datetime) -> bool:
    """Open -> closed exactly once, whoever (staff or the deadline tick) comes first."""
    result = await session.execute(
        update(Challenge).where(Challenge.id == challenge_id, Challenge.status == "open")
        .values(status="closed", closed_at=now).execution_options(synchronize_session=False))
    if result.rowcount == 0:
        return False
    await log_activity(session, "challenge_closed", actor, "challenge", challenge_id,
                       {"early": actor is not None})
    return True


async def delete_draft(session: AsyncSession, challenge_id: int, actor: Any) -> None:
    challenge = await get_challenge(session, challenge_id)
    if challenge.status != "draft":
        raise DomainError("not_draft")
    await session.execute(delete(ChallengeOption).where(
        ChallengeOption.challenge_id == challenge_id))
    await session.delete(challenge)
    await log_activity(session, "challenge_deleted", actor, "challenge", challenge_id)


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
    unknown = sorted({sid for sid in ids if sid not in subs})
    if unknown:
        raise DomainError("winner_unknown", numbers=", ".join(map(str, unknown)))
    # a place may still be cleared ("-") from an entry that is no longer approved
    not_approved = sorted({sid for sid, place in places
                           if place is not None and subs[sid].status != "approved"})
    if not_approved:
        raise DomainError("winner_not_approved", numbers=", ".join(map(str, not_approved)))
    for sid, place in places:
        sub = subs[sid]
        if sub.place == place:
            continue
        before, sub.place = sub.place, place
        if place is not None and before is None:
            participant = await session.get(User, sub.user_id)
            await log_activity(session, "winner", participant, "challenge", challenge_id,
                               {"submission_id": sid, "place": place})
        elif place is not None:  # a new place for a winner: statistics count winners once
            await log_activity(session, "winner_changed", actor, "challenge", challenge_id,
                               {"submission_id": sid, "before": before, "place": place,
                                "participant": sub.user_id})
        else:  # by staff, on their own row: a cleared place is neither a win nor activity
            await log_activity(session, "winner_cleared", actor, "challenge", challenge_id,
                               {"submission_id": sid, "before": before,
                                "participant": sub.user_id})
    return len(places)


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


async def counts(session: AsyncSession, challenge_id: int) -> dict[str, Any]:
    participants = await session.scalar(select(func.count()).select_from(ChallengeParticipant)
                                        .where(ChallengeParticipant.challenge_id == challenge_id))
    rows = (await session.execute(
        select(Submission.status, Submission.nomination_id, Submission.category_id,
               Submission.region_id, Submission.place)
        .where(Submission.challenge_id == challenge_id))).all()
    active = [r for r in rows if r.status != "withdrawn"]
    return {
        "participants": participants or 0,
        "by_status": Counter(r.status for r in rows),
        "by_nomination": Counter(r.nomination_id for r in active),
        "by_category": Counter(r.category_id for r in active),
        "by_region": Counter(r.region_id for r in active),
        "winners": sum(1 for r in active if r.place),
    }


# --- what the deadline tick does (bot.notices.challenges.challenges_tick) -------------------

async def due_to_close(session: AsyncSession, now: datetime) -> list[int]:
    return list((await session.scalars(select(Challenge.id).where(
        Challenge.status == "open", Challenge.deadline_at <= now))).all())


async def due_to_announce(session: AsyncSession, now: datetime) -> list[Challenge]:
    """Open challenges whose start has come and that were not announced yet."""
    return list((await session.scalars(select(Challenge).where(
        Challenge.status == "open", Challenge.announced_at.is_(None),
        Challenge.starts_at <= now, Challenge.deadline_at > now))).all())


async def remind_due(session: AsyncSession, notices: Notices, now: datetime) -> None:
    """Remind who joined but has not submitted, REMINDER_DAYS before the deadline."""
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    rows = (await session.scalars(select(Challenge).where(
        Challenge.status == "open", Challenge.starts_at <= now, Challenge.deadline_at > now,
        Challenge.deadline_at <= horizon))).all()
    for challenge in rows:
        if not challenge.content_kinds:
            continue
        due = [d for d in REMINDER_DAYS if challenge.deadline_at - timedelta(days=d) <= now
               and d not in (challenge.reminders_done or [])]
        if not due:
            continue
        day = min(due)  # one reminder now even if several thresholds were crossed at once
        submitted = select(Submission.user_id).where(
            Submission.challenge_id == challenge.id, Submission.status != "withdrawn")
        people = (await session.execute(
            select(User.id, User.chat_id, User.locale)
            .join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
            .where(ChallengeParticipant.challenge_id == challenge.id,
                   User.chat_id.is_not(None), User.status == "active", CONFIRMED,
                   User.id.not_in(submitted)))).all()
        recipients = [Recipient(uid, chat, loc) for uid, chat, loc in people]
        payloads = {loc: notices.reminder(challenge, loc, now)
                    for loc in {r.payload_key for r in recipients}}
        await enqueue(session, "challenge", challenge.id, recipients, payloads,
                      priority=PRIORITY_PERSONAL, dedup_suffix=f"remind{day}")
        challenge.reminders_done = sorted({*(challenge.reminders_done or []),
                                           *[d for d in REMINDER_DAYS if d >= day]})


# --- export ------------------------------------------------------------------------------

EXPORT_HEADERS = ("Entry", "Participant", "Organisation", "Organisation type", "Region",
                  "District", "Nomination", "Age category", "Status", "Place",
                  "Submitted at", "Content", "Text or link", "Comment", "Telegram file ids")


async def export_rows(session: AsyncSession, challenge_id: int, locale: str, places: Any,
                      tz: ZoneInfo, waiting: str = "-") -> list[list[Any]]:
    """A row per entry. An entry of a minor still waiting for a guardian's confirmation (only
    one sent before the limit existed can be) shows `waiting` instead of the person, and none
    of its content."""
    nominations, categories = await get_options(session, challenge_id)
    names = {o.id: o.name(locale) for o in (*nominations, *categories)}
    rows = (await session.execute(
        select(Submission.id, User.full_name, User.org_name, User.limited, User.org_type,
               Submission.region_id,
               Submission.district_id, Submission.nomination_id, Submission.category_id,
               Submission.status, Submission.place, Submission.submitted_at,
               Submission.content_kind, Submission.text, Submission.comment, Submission.media)
        .join(User, User.id == Submission.user_id)
        .where(Submission.challenge_id == challenge_id).order_by(Submission.id))).all()
    out = []
    for r in rows:
        region = places.region(r.region_id)
        district = places.district(r.district_id)
        name, org = as_seen_by_others(r.limited, r.full_name, r.org_name, waiting)
        content = ("", "", "") if r.limited else (
            r.text or "", r.comment or "",
            "\n".join(m["file_id"] for m in r.media or [] if m.get("file_id")))
        out.append([
            r.id, name, org, r.org_type or "",
            region.name(locale) if region else "", district.name(locale) if district else "",
            names.get(r.nomination_id, ""), names.get(r.category_id, ""), r.status,
            r.place or "", r.submitted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            r.content_kind, *content,
        ])
    return out


def build_xlsx(headers: list[str], rows: list[list[Any]], title: str = "Entries") -> bytes:
    from bot.services import xlsx  # openpyxl: loaded on the first export, not at start-up

    return xlsx.build_xlsx(headers, rows, title)

