"""statistics: covering indexes for period counts

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op

import db.base  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.create_index("ix_activity_stats", ["at", "kind", "role", "region_id",
                                                    "district_id", "user_id"], unique=False)
        batch_op.create_index("ix_activity_kind_scope", ["kind", "at", "region_id",
                                                         "district_id", "user_id", "ref_id"],
                              unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_coordinators", ["role", "status", "coordinator_level",
                                                        "region_id", "district_id",
                                                        "created_at"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_sent", ["source_type", "sent_at", "status"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_sent")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_coordinators")
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_kind_scope")
        batch_op.drop_index("ix_activity_stats")
