"""One person on two messengers: /link (bot/services/links.py)

Revision ID: 0020
Revises: 0016

- wa_contacts.user_id: the person a WhatsApp contact is linked to (NULL: a WhatsApp-only
  person, known by -id, or a guest);
- link_codes: the one-time codes /link hands out (a keyed hash, 15 minutes, used once);
- link_attempts: wrong codes typed, by a keyed hash of the chat (a few tries an hour).
"""

import sqlalchemy as sa
from alembic import op

from db.base import UtcDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wa_contacts") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_wa_contacts_user_id_users", "users", ["user_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_unique_constraint("uq_wa_contacts_user_id", ["user_id"])
    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_link_codes_user_id_users", ondelete="CASCADE"),
            nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("code_hash", name="uq_link_codes_code_hash"),
    )
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_link_attempts_person", "link_attempts", ["person_key", "at"])


def downgrade() -> None:
    op.drop_index("ix_link_attempts_person", table_name="link_attempts")
    op.drop_table("link_attempts")
    op.drop_table("link_codes")
    with op.batch_alter_table("wa_contacts") as batch:
        batch.drop_constraint("uq_wa_contacts_user_id", type_="unique")
        batch.drop_constraint("fk_wa_contacts_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
