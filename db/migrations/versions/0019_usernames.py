"""Telegram usernames, so that staff can name a person by @username

Revision ID: 0019
Revises: 0016

- users.username: the person's Telegram @username, lower-case, without "@" (Telegram
  compares them ignoring case); NULL when they have none, on WhatsApp, and once erased.
  Kept current by the user middleware (written only when it changed). Indexed: /promote
  and the jury look people up by it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username", sa.String(length=32)))
        batch.create_index("ix_users_username", ["username"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_username")
        batch.drop_column("username")
