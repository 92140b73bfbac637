"""Messages owed in full: what a WhatsApp template left out, brought once the person writes

Revision ID: 0022
Revises: 0020

- owed_messages: one row per delivery that went out only in part (WhatsApp outside the
  24-hour window: the text cut at 850 characters, an album's first photo, no buttons): the
  delivery's id (its payload is sent again, whole), its address and when it went. Deleted
  when the message is queued again, after 7 days, by /deleteme, and with the delivery.
"""

import sqlalchemy as sa
from alembic import op

from db.base import UtcDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owed_messages",
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey(
            "deliveries.id", name="fk_owed_messages_delivery_id_deliveries",
            ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_owed_messages_chat", "owed_messages", ["chat_id"])


def downgrade() -> None:
    op.drop_index("ix_owed_messages_chat", table_name="owed_messages")
    op.drop_table("owed_messages")
