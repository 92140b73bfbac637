"""Minors: a student below the guardian age stays limited until a parent or guardian confirms
through a one-time link that the student forwards to them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.personal_data import erase_user
from bot.services.users import UserCache
from db.models import User

# band -> the oldest age in it
AGE_BANDS = {"u14": 13, "14_15": 15, "16_17": 17, "18plus": 18}

# Who takes part in full: adults, and minors whose parent or guardian confirmed. What a
# `limited` account may not do or be in is listed at `User.limited` (db/models/core.py).
CONFIRMED = User.limited.is_(False)


def as_seen_by_others(limited: bool | None, name: str | None, org: str | None,
                      waiting: str) -> tuple[str, str]:
    """(name, organisation) as staff exports and coordinators' lists show a person: a minor
    still waiting for a guardian's confirmation is only `waiting`, with no name and no
    organisation (counts still include them)."""
    if limited:
        return waiting, ""
    return name or "", org or ""


async def guardian_token_of(session: AsyncSession, user_id: int) -> str | None:
    """The one-time link's token of a limited account (None once confirmed)."""
    return await session.scalar(select(User.guardian_token).where(User.id == user_id,
                                                                   User.limited.is_(True)))


class Confirmer(Protocol):
    """Whoever opened a guardian link (UserInfo), or None for someone not registered."""

    tg_id: int | None
    role: str
    status: str


def needs_guardian(band: str | None, guardian_age: int) -> bool:
    return band in AGE_BANDS and AGE_BANDS[band] < guardian_age


def set_age_band(user: User, band: str | None, guardian_age: int) -> None:
    """Record a student's band and, below the guardian age, limit the account and make its
    one-time guardian token. Called inside the registration's own transaction, before any
    reply: a reply that fails must not leave a child unlimited (review M3). A student with no
    band stays limited too (fail safe); coordinators and staff give no band."""
    user.age_band = band if band in AGE_BANDS else None
    user.limited = user.role == "student" and (band not in AGE_BANDS
                                               or needs_guardian(band, guardian_age))
    user.guardian_token = secrets.token_urlsafe(12) if user.limited else None


async def confirm_guardian(session: AsyncSession, cache: UserCache, token: str,
                           consent_version: str, now: datetime,
                           confirmer: Confirmer | None) -> User:
    user = await guardian_student(session, token, confirmer)
    user.limited, user.guardian_token = False, None
    user.guardian_consent_at, user.guardian_consent_version = now, consent_version
    await log_activity(session, "guardian_confirmed", user)
    cache.forget(user.tg_id)
    return user


@dataclass(frozen=True)
class Declined:
    """Where to tell the child, read before their account was erased."""

    tg_id: int | None
    chat_id: int | None
    locale: str


async def decline_guardian(session: AsyncSession, cache: UserCache, token: str, now: datetime,
                           confirmer: Confirmer | None) -> Declined:
    """The guardian says no: the child's account is erased as /deleteme erases it."""
    user = await guardian_student(session, token, confirmer)
    declined = Declined(user.tg_id, user.chat_id, user.locale)
    await log_activity(session, "guardian_declined", user)
    await erase_user(session, cache, user, now)
    return declined


async def guardian_student(session: AsyncSession, token: str,
                           confirmer: Confirmer | None) -> User:
    """The student a link is for, if `confirmer` (whoever opened it) may confirm them.

    The student themself may not, nor may anyone with a student account: the link is for an
    adult. Other people, registered or not, may (a parent can be a teacher in the bot).
    """
    user = await session.scalar(select(User).where(User.guardian_token == token))
    if user is None or user.status == "erased":
        raise DomainError("guardian_link_invalid")
    if confirmer is not None and (confirmer.tg_id == user.tg_id or (
            confirmer.role == "student" and confirmer.status != "erased")):
        raise DomainError("guardian_not_a_student")
    return user
