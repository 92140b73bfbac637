"""Organisations become records per district ("one school is one school", issue 17)

Revision ID: 0017
Revises: 0016

- organisations: one row per school, college or university of a district (of a region when
  the district is not set: regional coordinators); `key` is the name's search key
  (db.org_names.org_key), `merged_into_id` the record that replaced a duplicate.
- users.organisation_id (foreign key), submissions.organisation_id and
  jury_members.organisation_id (copies, like their region_id, district_id and org_name).
- Backfill: one record per distinct (region, district, org_type, key) of the people's
  org_name (the most common spelling names it); entries and jurors get the record of the
  same (region, district, key). The org_name columns stay: they are the name shown and
  exported, kept equal to the record's name when staff merge (certificates keep the name
  they printed). Downgrade drops the records and the ids; every org_name is untouched.
"""

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from db.base import UtcDateTime
from db.org_names import org_key

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer()),
        sa.Column("org_type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("merged_into_id", sa.Integer()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer()),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"],
                                name=op.f("fk_organisations_region_id_regions")),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"],
                                name=op.f("fk_organisations_district_id_districts")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["organisations.id"],
                                name=op.f("fk_organisations_merged_into_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_index("ix_organisations_place", "organisations",
                    ["region_id", "district_id", "org_type"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer()))
        batch.create_foreign_key(op.f("fk_users_organisation_id_organisations"),
                                 "organisations", ["organisation_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index(op.f("ix_users_organisation_id"), ["organisation_id"])
    for table in ("submissions", "jury_members"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("organisation_id", sa.Integer()))
    backfill(op.get_bind())


def backfill(conn: sa.engine.Connection) -> None:
    """Records from the people's distinct organisations; every row points at its record."""
    people = conn.execute(sa.text(
        "SELECT id, region_id, district_id, org_type, org_name FROM users "
        "WHERE org_name IS NOT NULL AND region_id IS NOT NULL")).all()
    spellings: dict[tuple, Counter] = {}
    members: dict[tuple, list[int]] = {}
    for uid, region_id, district_id, org_type, name in people:
        key = org_key(name)
        if not key:
            continue
        place = (region_id, district_id, org_type or "school", key)
        spellings.setdefault(place, Counter())[name] += 1
        members.setdefault(place, []).append(uid)
    insert = sa.text(
        "INSERT INTO organisations (region_id, district_id, org_type, name, key, created_at) "
        "VALUES (:r, :d, :t, :n, :k, :c) RETURNING id").bindparams(
        sa.bindparam("c", type_=UtcDateTime()))
    now = datetime.now(UTC)
    by_place: dict[tuple, int] = {}  # (region, district, type, key) -> record
    by_key: dict[tuple, int] = {}  # (region, district, key) -> a record of any type
    for place, counted in sorted(spellings.items(), key=lambda kv: str(kv[0])):
        region_id, district_id, org_type, key = place
        name = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        org_id = conn.execute(insert, {"r": region_id, "d": district_id, "t": org_type,
                                       "n": name, "k": key, "c": now}).scalar_one()
        conn.execute(sa.text("UPDATE users SET organisation_id = :o WHERE id = :u"),
                     [{"o": org_id, "u": uid} for uid in members[place]])
        by_place[place] = org_id
        by_key.setdefault((region_id, district_id, key), org_id)
    for table in ("submissions", "jury_members"):
        _link_copies(conn, table, by_place, by_key)


def _link_copies(conn: sa.engine.Connection, table: str, by_place: dict[tuple, int],
                 by_key: dict[tuple, int]) -> None:
    """An entry's or a juror's copied organisation: the record of its place and name, of the
    author's type (a school and a college of one name are two records)."""
    rows = conn.execute(sa.text(
        f"SELECT t.id, t.region_id, t.district_id, t.org_name, u.org_type "
        f"FROM {table} t JOIN users u ON u.id = t.user_id "
        "WHERE t.org_name IS NOT NULL")).all()
    updates = []
    for row_id, region_id, district_id, name, org_type in rows:
        key = org_key(name)
        org_id = by_place.get((region_id, district_id, org_type or "school", key),
                              by_key.get((region_id, district_id, key)))
        if org_id is not None:
            updates.append({"o": org_id, "i": row_id})
    if updates:
        conn.execute(sa.text(f"UPDATE {table} SET organisation_id = :o "
                             "WHERE id = :i"), updates)


def downgrade() -> None:
    for table in ("jury_members", "submissions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("organisation_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_index(op.f("ix_users_organisation_id"))
        batch.drop_constraint(op.f("fk_users_organisation_id_organisations"),
                              type_="foreignkey")
        batch.drop_column("organisation_id")
    op.drop_index("ix_organisations_place", table_name="organisations")
    op.drop_table("organisations")
