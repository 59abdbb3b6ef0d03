"""The archive's destruction ledger: the items destroyed and who approved it.

Revision ID: archive_0005
Revises: archive_0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "archive_0005"
down_revision = "archive_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_destruction") as batch:
        batch.add_column(sa.Column("items", sa.Text, nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(191), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_destruction") as batch:
        batch.drop_column("approved_by")
        batch.drop_column("items")
