"""challenges

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("title_kk", sa.String(length=200), nullable=False),
        sa.Column("title_ru", sa.String(length=200), nullable=True),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("description_kk", sa.Text(), nullable=False),
        sa.Column("description_ru", sa.Text(), nullable=True),
        sa.Column("description_en", sa.Text(), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("content_kinds", sa.JSON(), nullable=False),
        sa.Column("max_submissions", sa.Integer(), nullable=False),
        sa.Column("cover_file_id", sa.String(length=200), nullable=True),
        sa.Column("starts_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("deadline_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("published_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("announced_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("closed_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("results_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("reminders_done", sa.JSON(), nullable=False),
        sa.Column("jury_criteria", sa.JSON(), nullable=False),
        sa.Column("jury_quorum", sa.Integer(), nullable=False),
        sa.Column("jury_closed_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("review_tiers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_challenges_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    op.create_index("ix_challenges_status_deadline", "challenges", ["status", "deadline_at"])
    op.create_table(
        "challenge_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("name_kk", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=True),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE",
                                name=op.f("fk_challenge_options_challenge_id_challenges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_options")),
    )
    op.create_index("ix_challenge_options_challenge", "challenge_options",
                    ["challenge_id", "kind", "sort"])
    op.create_table(
        "challenge_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE",
                                name=op.f("fk_challenge_participants_challenge_id_challenges")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_challenge_participants_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_participants")),
        sa.UniqueConstraint("challenge_id", "user_id", name="uq_challenge_participants_pair"),
    )
    op.create_index("ix_challenge_participants_user", "challenge_participants", ["user_id"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nomination_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=True),
        sa.Column("content_kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("media_group_id", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", db.base.UtcDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("place", sa.String(length=12), nullable=True),
        sa.Column("withdrawn_at", db.base.UtcDateTime(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE",
                                name=op.f("fk_submissions_challenge_id_challenges")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_submissions_user_id_users")),
        sa.ForeignKeyConstraint(["nomination_id"], ["challenge_options.id"],
                                ondelete="SET NULL",
                                name=op.f("fk_submissions_nomination_id_challenge_options")),
        sa.ForeignKeyConstraint(["category_id"], ["challenge_options.id"], ondelete="SET NULL",
                                name=op.f("fk_submissions_category_id_challenge_options")),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_submissions_reviewed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index("ix_submissions_challenge_status", "submissions", ["challenge_id", "status"])
    op.create_index("ix_submissions_user", "submissions", ["user_id", "challenge_id"])
    op.create_index("ix_submissions_scope", "submissions", ["status", "region_id", "district_id"])
    op.create_table(
        "jury_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE",
                                name=op.f("fk_jury_members_challenge_id_challenges")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_jury_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jury_members")),
        sa.UniqueConstraint("challenge_id", "user_id", name="uq_jury_members_pair"),
    )
    op.create_table(
        "jury_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("juror_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("at", db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE",
                                name=op.f("fk_jury_scores_submission_id_submissions")),
        sa.ForeignKeyConstraint(["juror_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_jury_scores_juror_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jury_scores")),
        sa.UniqueConstraint("submission_id", "juror_id", "criterion",
                            name="uq_jury_scores_one"),
    )
    op.create_index("ix_jury_scores_juror", "jury_scores", ["juror_id", "submission_id"])


def downgrade() -> None:
    op.drop_index("ix_jury_scores_juror", table_name="jury_scores")
    op.drop_table("jury_scores")
    op.drop_table("jury_members")
    op.drop_index("ix_submissions_scope", table_name="submissions")
    op.drop_index("ix_submissions_user", table_name="submissions")
    op.drop_index("ix_submissions_challenge_status", table_name="submissions")
    op.drop_table("submissions")
    op.drop_index("ix_challenge_participants_user", table_name="challenge_participants")
    op.drop_table("challenge_participants")
    op.drop_index("ix_challenge_options_challenge", table_name="challenge_options")
    op.drop_table("challenge_options")
    op.drop_index("ix_challenges_status_deadline", table_name="challenges")
    op.drop_table("challenges")
