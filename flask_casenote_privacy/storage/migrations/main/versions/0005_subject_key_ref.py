"""Subject keys remember the archive's keyed hash of their subject.

Revision ID: main_0005
Revises: main_0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "main_0005"
down_revision = "main_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_subject_key") as batch:
        batch.add_column(sa.Column("ref", sa.String(64), nullable=True))
        batch.create_index("ix_privacy_subject_key_ref", ["ref"])


def downgrade() -> None:
    with op.batch_alter_table("privacy_subject_key") as batch:
        batch.drop_index("ix_privacy_subject_key_ref")
        batch.drop_column("ref")
