"""PostgreSQL: the archive partitioned by month of expiry, its rows counted per month
and class by the database (as the access log since ``main_0015``/``main_0016``).

A record kept under a law (전자상거래법: 5 years, 3 years, 6 months) is destroyed
once its period is over; with the archive in monthly partitions the purge drops a
whole past month, counting it from the database's own counts, instead of deleting it
row by row. PostgreSQL requires the partition key in every unique key: the primary
key becomes (id, expires_at) and a record's key (source, record_key, expires_at);
archiving takes a per-member lock before it looks for what is already kept, so a
record is still archived once (retention/archiving.py). The migration holds the
table while it copies it: run it in a quiet hour on a large archive.

A no-op on SQLite and MariaDB, which keep one table and the batched DELETE.

Revision ID: archive_0006
Revises: archive_0005
Create Date: 2026-11-30
"""

from alembic import op

from flask_casenote_privacy.storage.partition_ddl import (
    count_month_rows,
    drop_month_rows,
    partition_by_month,
    unpartition,
)
from flask_casenote_privacy.storage.partitions import ARCHIVE

revision = "archive_0006"
down_revision = "archive_0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_privacy_archived_record_retention_expires": "retention, expires_at",
    "ix_privacy_archived_record_subject_ref": "subject_ref",
}
PRIMARY, UNIQUE = f"{ARCHIVE.parent}_pkey", "uq_privacy_archived_record_source_key"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    keys = {PRIMARY: "PRIMARY KEY (id, expires_at)", UNIQUE: "UNIQUE (source, record_key, expires_at)"}
    partition_by_month(op, ARCHIVE, INDEXES, keys)
    count_month_rows(op, ARCHIVE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    drop_month_rows(op, ARCHIVE)
    unpartition(op, ARCHIVE, INDEXES, {PRIMARY: "PRIMARY KEY (id)", UNIQUE: "UNIQUE (source, record_key)"})
