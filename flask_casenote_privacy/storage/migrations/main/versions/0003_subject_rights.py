"""Subject rights: keys, requests, single-use tokens, provisions, operator access.

Revision ID: main_0003
Revises: main_0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0003"
down_revision = "main_0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_subject_key",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(191), nullable=False, unique=True),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "privacy_request",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(191), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("purposes", sa.String(255), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime, nullable=True),
        sa.Column("registered_by", sa.String(191), nullable=True),
        sa.Column("refusal_ground", sa.String(64), nullable=True),
        sa.Column("refusal_reason", sa.Text, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("notify_to", sa.String(320), nullable=True),
    )
    op.create_index("ix_privacy_request_subject", "privacy_request", ["subject"])
    op.create_table(
        "privacy_token_use",
        sa.Column("nonce", sa.String(32), primary_key=True),
        sa.Column("used_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_privacy_token_use_expires_at", "privacy_token_use", ["expires_at"])
    op.create_table(
        "privacy_provision",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(191), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("items", sa.String(512), nullable=False),
        sa.Column("provided_at", UTCDateTime, nullable=False),
        sa.Column("retention", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_privacy_provision_subject", "privacy_provision", ["subject"])
    op.create_index("ix_privacy_provision_expires_at", "privacy_provision", ["expires_at"])
    op.create_table(
        "privacy_operator_access",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("operator", sa.String(191), nullable=False),
        sa.Column("accessed_at", UTCDateTime, nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("subject", sa.String(191), nullable=True),
        sa.Column("task", sa.String(255), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_privacy_operator_access_expires_at", "privacy_operator_access", ["expires_at"])


def downgrade() -> None:
    for table in (
        "privacy_operator_access",
        "privacy_provision",
        "privacy_token_use",
        "privacy_request",
        "privacy_subject_key",
    ):
        op.drop_table(table)
