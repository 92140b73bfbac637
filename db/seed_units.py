"""Regions and districts from the KATO-based CSV; used by migration 0001 and the CSV import."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CSV_PATH = Path(__file__).with_name("data") / "kz_admin_units.csv"

regions_t = sa.table(
    "regions",
    sa.column("id", sa.Integer), sa.column("code", sa.String),
    sa.column("name_kk", sa.String), sa.column("name_ru", sa.String),
    sa.column("name_en", sa.String), sa.column("sort", sa.Integer),
)
districts_t = sa.table(
    "districts",
    sa.column("region_id", sa.Integer), sa.column("kind", sa.String),
    sa.column("name_kk", sa.String), sa.column("name_ru", sa.String),
    sa.column("name_en", sa.String), sa.column("sort", sa.Integer),
    sa.column("active", sa.Boolean),
)


def read_units(path: Path = CSV_PATH) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def seed_admin_units(conn: Connection, path: Path = CSV_PATH) -> None:
    rows = read_units(path)
    region_ids: dict[str, int] = {}
    for row in rows:
        if row["region_code"] in region_ids:
            continue
        region_ids[row["region_code"]] = len(region_ids) + 1
        region_id = region_ids[row["region_code"]]
        conn.execute(regions_t.insert().values(
            id=region_id, code=row["region_code"], name_kk=row["region_kk"],
            name_ru=row["region_ru"], name_en=row["region_en"], sort=region_id,
        ))
    conn.execute(districts_t.insert(), [
        {"region_id": region_ids[r["region_code"]], "kind": r["unit_type"],
         "name_kk": r["unit_kk"], "name_ru": r["unit_ru"], "name_en": r["unit_en"],
         "sort": n, "active": True}
        for n, r in enumerate(rows, start=1)
    ])
    if conn.dialect.name == "postgresql":
        # Region ids were given explicitly: move the sequence past them for later inserts.
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('regions', 'id'), "
                             "(SELECT MAX(id) FROM regions))"))
