"""delivery and broadcasts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("audience", sa.String(length=80), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("ack", sa.String(length=12), nullable=True),
        sa.Column("cascade", sa.Boolean(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("nudges", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("scheduled_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("started_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("finished_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("created_at", db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_broadcasts_author_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["parent_id"], ["broadcasts.id"],
                                name=op.f("fk_broadcasts_parent_id_broadcasts"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index("ix_broadcasts_status_scheduled", ["status", "scheduled_at"],
                              unique=False)
        batch_op.create_index("ix_broadcasts_author_created", ["author_id", "created_at"],
                              unique=False)
    op.create_table(
        "broadcast_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name=op.f("fk_broadcast_acks_broadcast_id_broadcasts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_broadcast_acks_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_acks")),
        sa.UniqueConstraint("broadcast_id", "user_id",
                            name=op.f("uq_broadcast_acks_broadcast_id")),
    )


def downgrade() -> None:
    op.drop_table("broadcast_acks")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcasts_author_created")
        batch_op.drop_index("ix_broadcasts_status_scheduled")
    op.drop_table("broadcasts")
