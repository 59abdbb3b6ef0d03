"""Policy-change notices: which member was told of which new version.

Revision ID: main_0013
Revises: main_0012
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0013"
down_revision = "main_0012"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_policy_notice",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("subject", sa.String(191), nullable=False),
        sa.Column("purposes", sa.String(255), nullable=False),
        sa.Column("notified_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("version_id", "subject", name="uq_privacy_policy_notice_version_subject"),
    )


def downgrade() -> None:
    op.drop_table("privacy_policy_notice")
