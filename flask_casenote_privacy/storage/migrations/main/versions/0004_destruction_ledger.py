"""Destruction ledger and tombstones of the main database.

Revision ID: main_0004
Revises: main_0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0004"
down_revision = "main_0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def create_destruction_ledger() -> None:
    op.create_table(
        "privacy_destruction",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("ran_at", UTCDateTime, nullable=False),
        sa.Column("purge_now", UTCDateTime, nullable=False),
        sa.Column("retention", sa.String(64), nullable=False),
        sa.Column("statute", sa.Text, nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(255), nullable=False),
        sa.Column("executor", sa.String(191), nullable=False),
        sa.UniqueConstraint("run_id", "retention", "target", name="uq_privacy_destruction_run_class_target"),
    )
    op.create_index("ix_privacy_destruction_run_id", "privacy_destruction", ["run_id"])


def upgrade() -> None:
    create_destruction_ledger()
    op.create_table(
        "privacy_tombstone",
        sa.Column("ref", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("destroyed_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("privacy_tombstone")
    op.drop_table("privacy_destruction")
