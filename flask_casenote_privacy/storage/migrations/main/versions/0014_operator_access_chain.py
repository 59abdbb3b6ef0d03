"""Operator access records: the reason of an export, a hash chain and its head, the
monthly reviews; the destruction ledger's items and approver.

Revision ID: main_0014
Revises: main_0013
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0014"
down_revision = "main_0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("privacy_operator_access") as batch:
        batch.add_column(sa.Column("reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("seq", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_privacy_operator_access_seq", ["seq"])
    chain = op.create_table(
        "privacy_access_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger, nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
        sa.Column("anchor_expires_at", UTCDateTime, nullable=True),
        sa.Column("purged_at", UTCDateTime, nullable=True),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    # Unsigned: the app signs the head with its key at the first record.
    op.bulk_insert(chain, [{"id": 1, "seq": 0, "last_hash": "", "anchor_seq": 0, "anchor_hash": "", "mac": ""}])
    op.create_table(
        "privacy_access_review",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("reviewer", sa.String(191), nullable=False),
        sa.Column("reviewed_at", UTCDateTime, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    op.create_index("ix_privacy_access_review_month", "privacy_access_review", ["month"])
    with op.batch_alter_table("privacy_destruction") as batch:
        batch.add_column(sa.Column("items", sa.Text, nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(191), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_destruction") as batch:
        batch.drop_column("approved_by")
        batch.drop_column("items")
    op.drop_index("ix_privacy_access_review_month", table_name="privacy_access_review")
    op.drop_table("privacy_access_review")
    op.drop_table("privacy_access_chain")
    with op.batch_alter_table("privacy_operator_access") as batch:
        batch.drop_constraint("uq_privacy_operator_access_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
        batch.drop_column("reason")
