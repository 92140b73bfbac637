"""foundation extras: guardian confirmation for minors

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("age_band", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("limited", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("guardian_token", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("guardian_consent_at", db.base.UtcDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column("guardian_consent_version", sa.String(length=20),
                                   nullable=True))
        batch.create_unique_constraint(op.f("uq_users_guardian_token"), ["guardian_token"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_guardian_token"), type_="unique")
        for column in ("guardian_consent_version", "guardian_consent_at", "guardian_token",
                       "limited", "age_band"):
            batch.drop_column(column)
