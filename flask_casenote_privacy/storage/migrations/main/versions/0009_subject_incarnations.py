"""Incarnations of a subject id, so that a reused host id never inherits a departed
member's records.

Revision ID: main_0009
Revises: main_0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0009"
down_revision = "main_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_subject_incarnation",
        sa.Column("identity", sa.String(191), primary_key=True),
        sa.Column("host_id", sa.String(191), nullable=False),
        sa.Column("incarnation", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("host_id", "incarnation", name="uq_privacy_subject_incarnation"),
    )


def downgrade() -> None:
    op.drop_table("privacy_subject_incarnation")
