"""A legal representative's consent for a member under the minimum age
(개인정보 보호법 제22조의2, 시행령 제17조의2).

Revision ID: main_0012
Revises: main_0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "main_0012"
down_revision = "main_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_guardian_consent",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(191), nullable=False),
        sa.Column("guardian_name", sa.String(100), nullable=True),
        sa.Column("guardian_contact", sa.String(200), nullable=True),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("verified_at", UTCDateTime, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("destroyed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_privacy_guardian_consent_subject", "privacy_guardian_consent", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_privacy_guardian_consent_subject", table_name="privacy_guardian_consent")
    op.drop_table("privacy_guardian_consent")
