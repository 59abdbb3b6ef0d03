"""The mail outbox and the shared rate-limit counters.

Revision ID: main_0008
Revises: main_0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0008"
down_revision = "main_0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SUBJECT = 191


def upgrade() -> None:
    op.create_table(
        "privacy_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("recipient", sa.String(320), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claimed_until", UTCDateTime, nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.String(64), nullable=True),
    )
    op.create_index("ix_privacy_outbox_status_next", "privacy_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "privacy_rate_limit",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("window_start", UTCDateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_privacy_rate_limit_expires_at", "privacy_rate_limit", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_privacy_rate_limit_expires_at", table_name="privacy_rate_limit")
    op.drop_table("privacy_rate_limit")
    op.drop_index("ix_privacy_outbox_status_next", table_name="privacy_outbox")
    op.drop_table("privacy_outbox")
