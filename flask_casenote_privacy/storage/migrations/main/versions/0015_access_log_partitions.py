"""PostgreSQL: the access log partitioned by month of expiry (range on ``expires_at``).

The existing table is renamed, a partitioned one with the same columns, indexes
and id sequence takes its name, a partition is made for every month its rows
expire in (plus DEFAULT, so an insert never fails), the rows are copied over and
the old table dropped. PostgreSQL requires the partition key in every unique key:
the primary key becomes (id, expires_at) and the spool's idempotency key
(event_id, expires_at) — a replayed event carries the expiry it was written with,
so a duplicate is still refused. The migration holds the table for as long as the
copy takes: run it in a quiet hour on a large log (docs/purge.md).

A no-op on SQLite and MariaDB: they keep one table and the batched DELETE
(docs/limits.md says why MariaDB is not partitioned).

Revision ID: main_0015
Revises: main_0014
Create Date: 2026-11-30
"""

from alembic import op

from flask_casenote_privacy.storage.partition_ddl import partition_by_month, unpartition
from flask_casenote_privacy.storage.partitions import ACCESS_LOG

revision = "main_0015"
down_revision = "main_0014"
branch_labels = None
depends_on = None

PARENT = ACCESS_LOG.parent
INDEXES = {
    "ix_privacy_access_log_retention_expires": "retention, expires_at",
    "ix_privacy_access_log_subject": "subject",
}
PRIMARY, UNIQUE, UNIQUE_BEFORE = f"{PARENT}_pkey", f"uq_{PARENT}_event_id", f"{PARENT}_event_id_key"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite, MariaDB: unpartitioned (docs/limits.md)
    keys = {PRIMARY: "PRIMARY KEY (id, expires_at)", UNIQUE: "UNIQUE (event_id, expires_at)"}
    partition_by_month(op, ACCESS_LOG, INDEXES, keys, aside=(UNIQUE_BEFORE,))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    keys = {PRIMARY: "PRIMARY KEY (id)", UNIQUE_BEFORE: "UNIQUE (event_id)"}
    unpartition(op, ACCESS_LOG, INDEXES, keys, aside=(UNIQUE,))
