"""Archived records, encrypted per subject.

Revision ID: archive_0002
Revises: archive_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "archive_0002"
down_revision = "archive_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_archived_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("subject_ref", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("record_key", sa.String(191), nullable=False),
        sa.Column("retention", sa.String(64), nullable=False),
        sa.Column("statute", sa.Text, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("archived_at", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("source", "record_key", name="uq_privacy_archived_record_source_key"),
    )
    op.create_index("ix_privacy_archived_record_subject_ref", "privacy_archived_record", ["subject_ref"])
    op.create_index("ix_privacy_archived_record_expires_at", "privacy_archived_record", ["expires_at"])


def downgrade() -> None:
    op.drop_table("privacy_archived_record")
