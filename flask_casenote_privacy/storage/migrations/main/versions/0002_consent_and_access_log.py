"""Consent ledger and the retention-tagged access log.

Revision ID: main_0002
Revises: main_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0002"
down_revision = "main_0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_consent_event",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(191), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("purpose_fingerprint", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_privacy_consent_event_subject", "privacy_consent_event", ["subject", "purpose", "id"])
    op.create_table(
        "privacy_access_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False, unique=True),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("retention", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("subject", sa.String(191), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("method", sa.String(16), nullable=True),
        sa.Column("path", sa.String(2048), nullable=True),
        sa.Column("status", sa.SmallInteger, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("device_family", sa.String(64), nullable=True),
        sa.Column("os_family", sa.String(64), nullable=True),
        sa.Column("browser_family", sa.String(64), nullable=True),
        sa.Column("cookies", sa.Text, nullable=True),
        sa.Column("purposes", sa.String(255), nullable=False),
    )
    op.create_index("ix_privacy_access_log_expires_at", "privacy_access_log", ["expires_at"])
    op.create_index("ix_privacy_access_log_subject", "privacy_access_log", ["subject"])


def downgrade() -> None:
    op.drop_table("privacy_access_log")
    op.drop_table("privacy_consent_event")
