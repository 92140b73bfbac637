"""integrity: jury recusal snapshots and offers, revocable staff, certificate regions

Revision ID: 0010
Revises: 0009

- submissions.org_name: the participant's organisation at submission (recusal compares it).
- jury_members.region_id / district_id / org_name: the juror's as they were when added;
  jury_members.offered_id: the entry last offered and not started (the only new one a
  score is accepted for).
- users.staff_revoked_at: set by /demote; STAFF_IDS then no longer restores staff at start.
- certificates.region_id: the holder's region at issue (/verify shows it, not the school).

Rows that exist already are filled from the people's profiles as they are now: the best
record there is of where they were.
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _from_user(table: str, column: str, source: str | None = None) -> None:
    op.execute(f"UPDATE {table} SET {column} = (SELECT users.{source or column} FROM users "
               f"WHERE users.id = {table}.user_id)")


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("org_name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("jury_members") as batch:
        batch.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("org_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("offered_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("staff_revoked_at", db.base.UtcDateTime(), nullable=True))
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
    _from_user("submissions", "org_name")
    for column in ("region_id", "district_id", "org_name"):
        _from_user("jury_members", column)
    _from_user("certificates", "region_id")


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("region_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("staff_revoked_at")
    with op.batch_alter_table("jury_members") as batch:
        for column in ("offered_id", "org_name", "district_id", "region_id"):
            batch.drop_column(column)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("org_name")
