"""Index archived records by (retention class, expiry), for the purge.

Revision ID: archive_0004
Revises: archive_0003
Create Date: 2026-11-28
"""

from alembic import op

revision = "archive_0004"
down_revision = "archive_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_privacy_archived_record_expires_at", table_name="privacy_archived_record")
    op.create_index(
        "ix_privacy_archived_record_retention_expires", "privacy_archived_record", ["retention", "expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_privacy_archived_record_retention_expires", table_name="privacy_archived_record")
    op.create_index("ix_privacy_archived_record_expires_at", "privacy_archived_record", ["expires_at"])
