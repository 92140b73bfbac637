"""webinars

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webinars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_kk", sa.String(length=200), nullable=False),
        sa.Column("title_ru", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("description_kk", sa.Text(), nullable=False),
        sa.Column("description_ru", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=True),
        sa.Column("starts_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("join_url", sa.String(length=500), nullable=False),
        sa.Column("speakers", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("reminder_offsets", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("updated_at", db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_webinars_created_by_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinars")),
    )
    with op.batch_alter_table("webinars", schema=None) as batch_op:
        batch_op.create_index("ix_webinars_status_starts", ["status", "starts_at"], unique=False)

    op.create_table(
        "webinar_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("registered_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("attended_at", db.base.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_webinar_registrations_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["webinar_id"], ["webinars.id"],
                                name=op.f("fk_webinar_registrations_webinar_id_webinars"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_registrations")),
        sa.UniqueConstraint("webinar_id", "user_id",
                            name=op.f("uq_webinar_registrations_webinar_id")),
    )
    with op.batch_alter_table("webinar_registrations", schema=None) as batch_op:
        batch_op.create_index("ix_webinar_registrations_user", ["user_id", "status"],
                              unique=False)

    op.create_table(
        "webinar_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("offset_min", sa.Integer(), nullable=False),
        sa.Column("due_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("processed_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["webinar_id"], ["webinars.id"],
                                name=op.f("fk_webinar_reminders_webinar_id_webinars"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_reminders")),
        sa.UniqueConstraint("webinar_id", "offset_min",
                            name=op.f("uq_webinar_reminders_webinar_id")),
    )
    with op.batch_alter_table("webinar_reminders", schema=None) as batch_op:
        batch_op.create_index("ix_webinar_reminders_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webinar_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_webinar_reminders_due")
    op.drop_table("webinar_reminders")
    with op.batch_alter_table("webinar_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_webinar_registrations_user")
    op.drop_table("webinar_registrations")
    with op.batch_alter_table("webinars", schema=None) as batch_op:
        batch_op.drop_index("ix_webinars_status_starts")
    op.drop_table("webinars")
