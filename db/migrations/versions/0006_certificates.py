"""certificates

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("issue_key", sa.String(length=120), nullable=False),
        sa.Column("template", sa.String(length=16), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("issued_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("queued_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("revoked_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"],
                                name=op.f("fk_certificates_issued_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"],
                                name=op.f("fk_certificates_revoked_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_certificates_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("issue_key", name=op.f("uq_certificates_issue_key")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_queue", ["queued_at", "id"], unique=False)
        batch_op.create_index("ix_certificates_source", ["source_type", "source_id"],
                              unique=False)
        batch_op.create_index("ix_certificates_user", ["user_id"], unique=False)

    op.create_table(
        "certificate_templates",
        sa.Column("template", sa.String(length=16), nullable=False),
        sa.Column("background", sa.LargeBinary(), nullable=True),
        sa.Column("signatories", sa.JSON(), nullable=False),
        sa.Column("updated_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"],
                                name=op.f("fk_certificate_templates_updated_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("template", name=op.f("pk_certificate_templates")),
    )


def downgrade() -> None:
    op.drop_table("certificate_templates")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_user")
        batch_op.drop_index("ix_certificates_source")
        batch_op.drop_index("ix_certificates_queue")
    op.drop_table("certificates")
