"""The media store: files sent over WhatsApp, kept because their media ids expire

Revision ID: 0016
Revises: 0015

- stored_media: one row per (file, sender): the file's sha256 (its name under
  <data folder>/media), the sender's id, mime type, size and file name. Deleted by
  /deleteme, with the files no other row names (db.models.media).
"""

import sqlalchemy as sa
from alembic import op

from db.base import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_media",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("sha256", "owner_id"),
    )
    op.create_index("ix_stored_media_owner", "stored_media", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_stored_media_owner", table_name="stored_media")
    op.drop_table("stored_media")
