"""One live record per organisation: a unique index on (region, district, type, key)

Revision ID: 0021
Revises: 0020

Two people typing a new school at the same moment both found no record and both created
one. Two unique partial indexes make the second insert fail (the service then re-reads the
first, bot.services.organisations.resolve); partial (`merged_into_id IS NULL`) because
merged duplicates keep their key. District is NULL for a regional coordinator's
organisation and NULLs never collide in a unique index, so those records have an index of
their own without the district (`uq_organisations_live_regional`). Plain columns, not an
expression: both SQLite and PostgreSQL build them, and alembic can compare them.

Before the index: live duplicates made by that race since 0017 are merged into the oldest
(its people, entries and jurors follow, as a staff merge does). The 0017 backfill makes one
record per (region, district, type, key), so a fresh upgrade has none.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# name -> (columns, condition); the same as db.models.core.Organisation's
INDEXES = {
    "uq_organisations_live": (["region_id", "district_id", "org_type", "key"],
                              "merged_into_id IS NULL AND district_id IS NOT NULL"),
    "uq_organisations_live_regional": (["region_id", "org_type", "key"],
                                       "merged_into_id IS NULL AND district_id IS NULL"),
}


def upgrade() -> None:
    merge_live_duplicates(op.get_bind())
    for name, (columns, where) in INDEXES.items():
        op.create_index(name, "organisations", columns, unique=True,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def merge_live_duplicates(conn: sa.engine.Connection) -> None:
    rows = conn.execute(sa.text(
        "SELECT id, region_id, district_id, org_type, key, name FROM organisations "
        "WHERE merged_into_id IS NULL ORDER BY id")).all()
    first: dict[tuple, tuple[int, str]] = {}
    for org_id, region_id, district_id, org_type, key, name in rows:
        place = (region_id, district_id or 0, org_type, key)
        if place not in first:
            first[place] = (org_id, name)
            continue
        target, target_name = first[place]
        for table in ("users", "submissions", "jury_members"):
            conn.execute(sa.text(f"UPDATE {table} SET organisation_id = :t, org_name = :n "
                                 "WHERE organisation_id = :s"),
                         {"t": target, "n": target_name, "s": org_id})
        conn.execute(sa.text("UPDATE organisations SET merged_into_id = :t "
                             "WHERE id = :s OR merged_into_id = :s"), {"t": target, "s": org_id})


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="organisations")
