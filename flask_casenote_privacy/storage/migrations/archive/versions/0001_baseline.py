"""Archive baseline: marks the database as the privacy archive.

The archive's tables arrive with the capability that fills them (withdrawal).

Revision ID: archive_0001
Revises:
Create Date: 2026-11-28
"""

revision = "archive_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: Alembic creates its version table, which marks the database."""


def downgrade() -> None:
    """Nothing to undo."""
