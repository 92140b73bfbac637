"""WhatsApp contacts: the people who write to the bot's WhatsApp number

Revision ID: 0015
Revises: 0012

- wa_contacts: one row per WhatsApp person (their BSUID, the phone number if WhatsApp gives
  it); the bot knows them by the negative id -wa_contacts.id (db.models.whatsapp), so no
  other table changes. Deleted by /deleteme.
"""

import sqlalchemy as sa
from alembic import op

from db.base import UtcDateTime

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wa_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.Text(), nullable=False, unique=True),
        sa.Column("wa_id", sa.String(length=32)),
        sa.Column("menu", sa.JSON()),
        sa.Column("last_inbound_at", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wa_contacts")
