"""Digest preferences and place names for the digest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from db.models import User

# ---------------------------------------------------------------- digest preferences


def digest_enabled(settings: dict | None) -> bool:
    return bool((settings or {}).get("digest", True))


async def set_digest(session: AsyncSession, user_id: int, enabled: bool) -> None:
    user = await session.get(User, user_id)
    if user is None:
        raise DomainError("not_found")
    user.settings = {**(user.settings or {}), "digest": enabled}


def place_namer(places: Any, locale: str) -> Callable[[str, int], str]:
    """(kind, id) -> a region's or district's name in `locale` (PlaceDirectory lookups)."""
    def name(kind: str, place_id: int) -> str:
        place = places.region(place_id) if kind == "region" else places.district(place_id)
        return place.name(locale) if place else f"#{place_id}"
    return name
