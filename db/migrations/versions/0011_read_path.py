"""read path: updates parked outside their polling batch while a long read runs

Revision ID: 0011
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("parked_at", db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_parked_updates")),
    )


def downgrade() -> None:
    op.drop_table("parked_updates")
