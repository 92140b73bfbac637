"""Regions and districts: static reference data, cached in memory after the first read."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.text import strip_controls
from db.models import District, Region

PAGE_SIZE = 8


@dataclass(frozen=True, slots=True)
class Place:
    id: int
    code: str
    kind: str
    names: dict[str, str]
    region_id: int | None = None

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names["kk"]


class PlaceDirectory:
    """In-memory copy of regions and districts; `reload` after an import."""

    def __init__(self) -> None:
        self.regions: list[Place] = []
        self.districts: dict[int, list[Place]] = {}
        self._by_id: dict[int, Place] = {}
        self._region_by_id: dict[int, Place] = {}

    async def load(self, session: AsyncSession) -> None:
        regions = (await session.scalars(select(Region).order_by(Region.sort))).all()
        self.regions = [
            Place(r.id, r.code, "region", {"kk": r.name_kk, "ru": r.name_ru, "en": r.name_en})
            for r in regions
        ]
        self._region_by_id = {p.id: p for p in self.regions}
        rows = (await session.scalars(
            select(District).where(District.active).order_by(District.sort)
        )).all()
        self.districts = {r.id: [] for r in self.regions}
        self._by_id = {}
        for d in rows:
            place = Place(d.id, str(d.id), d.kind,
                          {"kk": d.name_kk, "ru": d.name_ru, "en": d.name_en}, d.region_id)
            self.districts.setdefault(d.region_id, []).append(place)
            self._by_id[d.id] = place

    def region_from(self, raw: str) -> Place | None:
        """A region named by id in a callback (untrusted text: only ASCII digits count)."""
        return self.region(as_int(raw))

    def district_from(self, raw: str) -> Place | None:
        return self.district(as_int(raw))

    def region(self, region_id: int | None) -> Place | None:
        return self._region_by_id.get(region_id) if region_id else None

    def district(self, district_id: int | None) -> Place | None:
        return self._by_id.get(district_id) if district_id else None

    def names(self, region_id: int | None, district_id: int | None, locale: str) -> list[str]:
        """The region's and the district's names, those that are set, region first."""
        return [p.name(locale) for p in (self.region(region_id), self.district(district_id))
                if p]

    def district_page(
        self, region_id: int, page: int, query: str = ""
    ) -> tuple[list[Place], int]:
        """One page of a region's districts matching `query` in any language; (items, pages)."""
        items = self.districts.get(region_id, [])
        if query:
            q = query.casefold().strip()
            items = [p for p in items if any(q in n.casefold() for n in p.names.values())]
        pages = max(1, -(-len(items) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        return items[page * PAGE_SIZE:(page + 1) * PAGE_SIZE], pages

    def find_region(self, text: str) -> Place | None:
        q = text.casefold().strip()
        for place in self.regions:
            if any(q == n.casefold() for n in place.names.values()) or q == place.code:
                return place
        return None


IMPORT_COLUMNS = ("region_code", "unit_type", "unit_kk", "unit_ru", "unit_en")
NAME_MAX = 120  # the columns' size


def name_ok(name: str) -> bool:
    """A place name fit for buttons, messages and exports: not too long, no markup or
    control characters (messages escape names anyway; this keeps the data clean)."""
    return (len(name) <= NAME_MAX and "<" not in name and ">" not in name
            and strip_controls(name) == name and "\n" not in name and "\t" not in name)


UNIT_TYPES = ("district", "city", "city_district")


def _csv_rows(raw: bytes) -> list[dict[str, str]]:
    try:
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    except UnicodeDecodeError:
        raise DomainError("csv_encoding") from None
    if not rows or any(c not in rows[0] for c in IMPORT_COLUMNS):
        raise DomainError("csv_columns", columns=", ".join(IMPORT_COLUMNS))
    return rows


def _check_row(n: int, row: dict[str, str], regions: dict[str, Region]) -> None:
    """Refuse line `n` of the file with what is wrong in it."""
    if row["region_code"] not in regions:
        raise DomainError("csv_region", line=n, code=row["region_code"])
    if row["unit_type"] not in UNIT_TYPES:
        raise DomainError("csv_unit_type", line=n)
    names = [(row[c] or "").strip() for c in ("unit_kk", "unit_ru", "unit_en")]
    if not all(names):
        raise DomainError("csv_empty", line=n)
    if not all(name_ok(name) for name in names):
        raise DomainError("csv_name", line=n, max=NAME_MAX)


async def import_districts_csv(session: AsyncSession, raw: bytes) -> tuple[int, int]:
    """Staff corrections: add new units, rename existing ones (matched by Russian or Kazakh name).

    Returns (added, updated). The whole file is checked before anything is written.
    """
    rows = _csv_rows(raw)
    regions = {r.code: r for r in (await session.scalars(select(Region))).all()}
    for n, row in enumerate(rows, start=2):
        _check_row(n, row, regions)
    added = updated = 0
    for row in rows:
        region = regions[row["region_code"]]
        existing = await session.scalar(select(District).where(
            District.region_id == region.id,
            (District.name_ru == row["unit_ru"]) | (District.name_kk == row["unit_kk"]),
        ))
        names = {f"name_{lang}": row[f"unit_{lang}"].strip() for lang in ("kk", "ru", "en")}
        if existing:
            for key, value in names.items():
                setattr(existing, key, value)
            existing.kind = row["unit_type"]
            updated += 1
        else:
            session.add(District(region_id=region.id, kind=row["unit_type"],
                                 sort=10_000 + added, **names))
            added += 1
    return added, updated
