"""Index access-log and provision rows by (retention class, expiry).

The purge then finds each class, its expired range and what it keeps by index
seeks instead of scanning the table.

Revision ID: main_0006
Revises: main_0005
Create Date: 2026-11-28
"""

from alembic import op

revision = "main_0006"
down_revision = "main_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_privacy_access_log_expires_at", table_name="privacy_access_log")
    op.create_index("ix_privacy_access_log_retention_expires", "privacy_access_log", ["retention", "expires_at"])
    op.drop_index("ix_privacy_provision_expires_at", table_name="privacy_provision")
    op.create_index("ix_privacy_provision_retention_expires", "privacy_provision", ["retention", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_privacy_provision_retention_expires", table_name="privacy_provision")
    op.create_index("ix_privacy_provision_expires_at", "privacy_provision", ["expires_at"])
    op.drop_index("ix_privacy_access_log_retention_expires", table_name="privacy_access_log")
    op.create_index("ix_privacy_access_log_expires_at", "privacy_access_log", ["expires_at"])
