"""read path: updates parked outside their polling batch while a long read runs

Revision ID: 0011
Revises: 0010

- parked_updates: an update that left its batch (a long read), kept until it is handled;
  sender_id (the sender's Telegram id) lets /deleteme delete the person's rows at once.
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("parked_at", db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_parked_updates")),
    )
    op.create_index("ix_parked_updates_sender", "parked_updates", ["sender_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_parked_updates_sender", table_name="parked_updates")
    op.drop_table("parked_updates")
