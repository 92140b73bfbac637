"""Webinars: their registrants (lists, counts by region, the XLSX export) and a person's
own webinars."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.guardian import as_seen_by_others
from bot.services.webinars.rules import ATTEND_AFTER, ends_at
from db.models import User, Webinar, WebinarRegistration


async def registrants(session: AsyncSession, webinar_id: int,
                      before: datetime | None = None) -> list[tuple[User, WebinarRegistration]]:
    """Active registrants (optionally only those registered by `before`), oldest first."""
    query = (select(User, WebinarRegistration)
             .join(WebinarRegistration, WebinarRegistration.user_id == User.id)
             .where(WebinarRegistration.webinar_id == webinar_id,
                    WebinarRegistration.status == "registered", User.status != "erased")
             .order_by(WebinarRegistration.registered_at, WebinarRegistration.id))
    if before is not None:
        query = query.where(WebinarRegistration.registered_at <= before)
    return [(u, r) for u, r in (await session.execute(query)).all()]


def registrant_contacts(webinar_id: int, before: datetime | None = None) -> Select[Any]:
    """select(user id, chat id, locale) of active registrants with a chat (registered by
    `before`): the delivery queue copies it in one INSERT … SELECT."""
    query = (select(User.id, User.chat_id, User.locale)
             .join(WebinarRegistration, WebinarRegistration.user_id == User.id)
             .where(WebinarRegistration.webinar_id == webinar_id,
                    WebinarRegistration.status == "registered", User.status == "active",
                    User.chat_id.is_not(None)))
    if before is not None:
        query = query.where(WebinarRegistration.registered_at <= before)
    return query


def registrant_ids_select(webinar_id: int) -> Select[Any]:
    """select(user id) of a webinar's registrants (the broadcasts audience provider)."""
    return select(WebinarRegistration.user_id).where(
        WebinarRegistration.webinar_id == webinar_id,
        WebinarRegistration.status == "registered")



async def webinar_registrant_ids(session: AsyncSession, webinar_id: int) -> list[int]:
    """User ids of a webinar's registrants (an audience for broadcasts)."""
    return list(await session.scalars(registrant_ids_select(webinar_id)))


@dataclass
class RegistrantStats:
    registered: int
    attended: int
    by_region: list[tuple[int | None, int, int]]  # region id, registered, attended


def registrant_stats(rows: list[tuple[User, WebinarRegistration]]) -> RegistrantStats:
    reg: Counter[int | None] = Counter()
    att: Counter[int | None] = Counter()
    for user, registration in rows:
        reg[user.region_id] += 1
        if registration.attended_at is not None:
            att[user.region_id] += 1
    by_region = sorted(((r, n, att[r]) for r, n in reg.items()), key=lambda x: (-x[1], x[0] or 0))
    return RegistrantStats(sum(reg.values()), sum(att.values()), by_region)


async def my_webinars(session: AsyncSession, user_id: int,
                      now: datetime) -> list[tuple[Webinar, WebinarRegistration]]:
    """The user's registrations: upcoming first (soonest first), then the last past ones."""
    rows = (await session.execute(
        select(Webinar, WebinarRegistration)
        .join(WebinarRegistration, WebinarRegistration.webinar_id == Webinar.id)
        .where(WebinarRegistration.user_id == user_id,
               WebinarRegistration.status == "registered")
        .order_by(Webinar.starts_at))).all()
    coming = [(w, r) for w, r in rows if ends_at(w) + ATTEND_AFTER > now]
    past = [(w, r) for w, r in rows if ends_at(w) + ATTEND_AFTER <= now][-5:]
    return coming + list(reversed(past))



def registrants_xlsx(rows: list[tuple[User, WebinarRegistration]], headers: list[str],
                     region_name: Any, district_name: Any, role_name: Any,
                     tz: tzinfo, title: str = "Registrants", waiting: str = "-") -> bytes:
    """One sheet: a row per registrant (name, region, district, organisation, role,
    registered at, attended at), local times. A minor still waiting for a guardian's
    confirmation is a row marked `waiting`, without name or organisation."""
    from openpyxl import Workbook

    from bot.services import xlsx

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    xlsx.append(sheet, headers)

    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else ""

    for user, reg in rows:
        name, org = as_seen_by_others(user.limited, user.full_name, user.org_name, waiting)
        xlsx.append(sheet, [name, region_name(user.region_id),
                            district_name(user.district_id), org,
                            role_name(user.role),
                            local(reg.registered_at), local(reg.attended_at)])
    for column, width in zip("ABCDEFG", (32, 28, 28, 32, 12, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    return xlsx.to_bytes(book)
