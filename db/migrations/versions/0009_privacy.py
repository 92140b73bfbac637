"""privacy: FSM rows carry their last write (answers expire), deliveries indexed by person
and payload (erasure finds a person's messages without reading the whole queue)

Revision ID: 0009
Revises: 0008
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fsm_records") as batch:
        batch.add_column(sa.Column("updated_at", db.base.UtcDateTime(), nullable=True))
    # flows under way keep their 24 hours, counted from the upgrade
    records = sa.table("fsm_records", sa.column("updated_at", db.base.UtcDateTime()))
    op.execute(records.update().values(updated_at=datetime.now(UTC)))
    with op.batch_alter_table("deliveries") as batch:
        batch.create_index("ix_deliveries_user", ["user_id"], unique=False)
        batch.create_index("ix_deliveries_payload", ["payload_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_payload")
        batch.drop_index("ix_deliveries_user")
    with op.batch_alter_table("fsm_records") as batch:
        batch.drop_column("updated_at")
