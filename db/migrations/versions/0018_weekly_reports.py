"""Coordinators' weekly reports of the offline week (issue 17)

Revision ID: 0018
Revises: 0016

- weekly_reports: one row per (coordinator, week), the week being its Monday in
  Asia/Almaty; the area (region, district) copied when filed; events held, people reached,
  a free note; filing the same week again updates the row (db.models.weekly).
"""

import sqlalchemy as sa
from alembic import op

from db.base import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "weekly_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coordinator_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id")),
        sa.Column("district_id", sa.Integer(), sa.ForeignKey("districts.id")),
        sa.Column("events_held", sa.Integer(), nullable=False),
        sa.Column("people_reached", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=1000)),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("coordinator_id", "week",
                            name="uq_weekly_reports_coordinator_week"),
    )
    op.create_index("ix_weekly_reports_week", "weekly_reports",
                    ["week", "region_id", "district_id"])


def downgrade() -> None:
    op.drop_index("ix_weekly_reports_week", table_name="weekly_reports")
    op.drop_table("weekly_reports")
