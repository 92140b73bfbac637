"""Webinars: who a webinar is for (its stored audience) and who may see it."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Select, and_, select

from db.models import User

AUDIENCE_KEYS = ("roles", "org_types", "factions", "positions", "regions")


class Member(Protocol):
    id: int
    role: str
    region_id: int | None
    district_id: int | None
    org_type: str | None
    faction: str | None
    position: str | None



def clean_audience(audience: dict[str, Any] | None) -> dict[str, list]:
    return {k: list(v) for k, v in (audience or {}).items() if k in AUDIENCE_KEYS and v}


def audience_matches(audience: dict[str, Any] | None, user: Member) -> bool:
    aud = clean_audience(audience)
    if user.role == "staff":
        return True
    checks = (("roles", user.role), ("org_types", user.org_type), ("factions", user.faction),
              ("positions", user.position), ("regions", user.region_id))
    return all(key not in aud or value in aud[key] for key, value in checks)


def _audience_filter(audience: dict[str, Any] | None) -> list[Any]:
    aud = clean_audience(audience)
    columns = {"roles": User.role, "org_types": User.org_type, "factions": User.faction,
               "positions": User.position, "regions": User.region_id}
    conds = [columns[k].in_(v) for k, v in aud.items()]
    return [and_(*conds)] if conds else []


def audience_contacts(audience: dict[str, Any] | None) -> Select[Any]:
    """select(user id, chat id, locale) of the active people a webinar is for."""
    return select(User.id, User.chat_id, User.locale).where(
        User.status == "active", User.chat_id.is_not(None), User.blocked_bot.is_(False),
        *_audience_filter(audience))
