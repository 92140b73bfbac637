"""delivery channel: every queued message names the channel it goes out through

Revision ID: 0012
Revises: 0011

- deliveries.channel: "telegram" for every row there is (the only channel so far); the worker
  sends a row through the channel it names (bot.channels).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=False,
                                   server_default="telegram"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("channel")
