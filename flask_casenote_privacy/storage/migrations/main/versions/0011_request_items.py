"""Requests remember which items they correct or delete (PIPA §36): the item ids
only, never the old or the new value.

Revision ID: main_0011
Revises: main_0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "main_0011"
down_revision = "main_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: every request of another kind, or registered before this revision, names no items.
    with op.batch_alter_table("privacy_request") as batch:
        batch.add_column(sa.Column("items", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_request") as batch:
        batch.drop_column("items")
