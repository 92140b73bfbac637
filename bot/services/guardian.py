"""Minors: a student below the guardian age stays limited until a parent or guardian confirms
through a one-time link that the student forwards to them."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.users import UserCache
from db.models import User

# band -> the oldest age in it
AGE_BANDS = {"u14": 13, "14_15": 15, "16_17": 17, "18plus": 18}


def needs_guardian(band: str | None, guardian_age: int) -> bool:
    return band in AGE_BANDS and AGE_BANDS[band] < guardian_age


async def apply_age_band(session: AsyncSession, cache: UserCache, user: User, band: str | None,
                         guardian_age: int) -> str | None:
    """Record the band; returns the one-time guardian token when the account is limited."""
    user.age_band = band
    user.limited = needs_guardian(band, guardian_age)
    user.guardian_token = secrets.token_urlsafe(12) if user.limited else None
    cache.forget(user.tg_id)
    return user.guardian_token


async def confirm_guardian(session: AsyncSession, cache: UserCache, token: str,
                           consent_version: str, now: datetime) -> User:
    user = await session.scalar(select(User).where(User.guardian_token == token))
    if user is None or user.status == "erased":
        raise DomainError("guardian_link_invalid")
    user.limited, user.guardian_token = False, None
    user.guardian_consent_at, user.guardian_consent_version = now, consent_version
    await log_activity(session, "guardian_confirmed", user)
    cache.forget(user.tg_id)
    return user


async def guardian_student(session: AsyncSession, token: str) -> User:
    user = await session.scalar(select(User).where(User.guardian_token == token))
    if user is None or user.status == "erased":
        raise DomainError("guardian_link_invalid")
    return user
