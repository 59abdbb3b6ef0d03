"""PostgreSQL: the access log's rows counted per month of expiry and class by the
database itself, so that the purge drops a whole past month without reading it.

``privacy_access_log_month_rows`` and its trigger (storage/partition_ddl.py,
``count_month_rows``) count every INSERT, DELETE and UPDATE of ``expires_at`` or
``retention``, whichever table the statement names and whatever code runs it (the
capture writer, the spool replay, the purge's batched DELETE, a host's own SQL). The
purge's DROP of a month deletes that month's counts in the same transaction. The
rows already there are counted here, under a lock that keeps writers out for as
long as the one grouped scan takes (docs/purge.md: a quiet hour).

A no-op on SQLite and MariaDB, which keep one table and the batched DELETE.

Revision ID: main_0016
Revises: main_0015
Create Date: 2026-11-30
"""

from alembic import op

from flask_casenote_privacy.storage.partition_ddl import count_month_rows, drop_month_rows
from flask_casenote_privacy.storage.partitions import ACCESS_LOG

revision = "main_0016"
down_revision = "main_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        count_month_rows(op, ACCESS_LOG)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        drop_month_rows(op, ACCESS_LOG)
