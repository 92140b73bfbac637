"""What every room of the challenges service shares: the vocabulary (kinds, statuses, places,
limits), the `Notices` the services are handed, finding a challenge and its options, who is
in its audience, and the checks of a title, a description and a schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.delivery import OutgoingMessage, Recipient
from bot.services.errors import DomainError
from db.models import User
from db.models.challenges import Challenge, ChallengeOption

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
TIERS = ("district", "regional")


# Entries that no longer count as sent: for the limit per person and for "has not sent yet".
# A rejected entry is out of the running and cannot be withdrawn: it must not use up a place.
OUT_OF_RUNNING = ("withdrawn", "rejected")


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
