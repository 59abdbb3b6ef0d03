"""Requests record the identity check and an agent's power of attorney, an access
request's postponement; objections to refusals get a table of their own.

Revision ID: main_0010
Revises: main_0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from flask_casenote_privacy.storage.engines import UTCDateTime

revision = "main_0010"
down_revision = "main_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: requests registered before this revision recorded none of it.
    with op.batch_alter_table("privacy_request") as batch:
        batch.add_column(sa.Column("identity_check", sa.String(32), nullable=True))
        batch.add_column(sa.Column("requester", sa.String(32), nullable=True))
        batch.add_column(sa.Column("agent_reference", sa.String(191), nullable=True))
        batch.add_column(sa.Column("postponed_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("postponed_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("first_due_at", UTCDateTime, nullable=True))
    op.create_table(
        "privacy_objection",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("objected_to", sa.Text, nullable=False),
        sa.Column("registered_by", sa.String(191), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("decided_by", sa.String(191), nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
        # The request id while the objection is open, NULL once decided: one open per request.
        sa.Column("open_key", sa.String(32), nullable=True),
        sa.UniqueConstraint("open_key", name="uq_privacy_objection_open_key"),
    )
    op.create_index("ix_privacy_objection_request_id", "privacy_objection", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_privacy_objection_request_id", table_name="privacy_objection")
    op.drop_table("privacy_objection")
    with op.batch_alter_table("privacy_request") as batch:
        for column in ("first_due_at", "postponed_reason", "postponed_at"):
            batch.drop_column(column)
        for column in ("agent_reference", "requester", "identity_check"):
            batch.drop_column(column)
