"""The export of a challenge's entries: a row per entry, and the XLSX built from them."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.challenges.common import get_options
from bot.services.guardian import as_seen_by_others
from db.models import User
from db.models.challenges import Submission

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
