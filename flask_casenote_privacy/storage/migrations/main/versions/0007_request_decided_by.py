"""Requests remember which officer completed or refused them.

Revision ID: main_0007
Revises: main_0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "main_0007"
down_revision = "main_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: requests decided before this revision, and withdrawals (carried out at
    # once, decided by nobody), have no officer.
    with op.batch_alter_table("privacy_request") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(191), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_request") as batch:
        batch.drop_column("decided_by")
