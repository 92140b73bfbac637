"""coordinator requests remembered for a day (review L4)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coordinator_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("requested_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_coordinator_requests_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordinator_requests")),
    )
    op.create_index("ix_coordinator_requests_person", "coordinator_requests",
                    ["person_key", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_coordinator_requests_person", table_name="coordinator_requests")
    op.drop_table("coordinator_requests")
