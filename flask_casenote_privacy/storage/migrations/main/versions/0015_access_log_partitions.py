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
from dateutil.relativedelta import relativedelta
from sqlalchemy import text

from flask_casenote_privacy.storage.partitions import DEFAULT_PARTITION, PARENT, partition_name

revision = "main_0015"
down_revision = "main_0014"
branch_labels = None
depends_on = None

OLD = f"{PARENT}_unpartitioned"
SEQUENCE = f"{PARENT}_id_seq"
INDEXES = (
    ("ix_privacy_access_log_retention_expires", "retention, expires_at"),
    ("ix_privacy_access_log_subject", "subject"),
)


def _move_aside() -> None:
    """Rename the current table and its index names (index names are per schema), and
    free the id sequence from it so that dropping it keeps the sequence."""
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY NONE")
    op.execute(f"ALTER TABLE {PARENT} RENAME TO {OLD}")
    for name, _ in INDEXES:
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    for name in (f"{PARENT}_pkey", f"{PARENT}_event_id_key", f"uq_{PARENT}_event_id"):
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")


def _finish() -> None:
    for name, columns in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {PARENT} ({columns})")
    op.execute(f"INSERT INTO {PARENT} SELECT * FROM {OLD}")  # noqa: S608 - constants
    op.execute(f"DROP TABLE {OLD}")
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY {PARENT}.id")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite, MariaDB: unpartitioned (docs/limits.md)
    _move_aside()
    op.execute(
        f"CREATE TABLE {PARENT} (LIKE {OLD} INCLUDING DEFAULTS, "
        f"CONSTRAINT {PARENT}_pkey PRIMARY KEY (id, expires_at), "
        f"CONSTRAINT uq_{PARENT}_event_id UNIQUE (event_id, expires_at)) PARTITION BY RANGE (expires_at)"
    )
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {PARENT} DEFAULT")
    months = op.get_bind().execute(
        text(f"SELECT DISTINCT date_trunc('month', expires_at) FROM {OLD}")  # noqa: S608 - constant
    )
    for (month,) in months.all():
        upper = month + relativedelta(months=1)
        op.execute(
            f"CREATE TABLE {partition_name(month)} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{month.isoformat(' ')}') TO ('{upper.isoformat(' ')}')"
        )
    _finish()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY NONE")
    op.execute(f"ALTER TABLE {PARENT} RENAME TO {OLD}")
    for name, _ in INDEXES:
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    op.execute(f"ALTER INDEX IF EXISTS {PARENT}_pkey RENAME TO {PARENT}_pkey_old")
    op.execute(f"ALTER INDEX IF EXISTS uq_{PARENT}_event_id RENAME TO uq_{PARENT}_event_id_old")
    op.execute(
        f"CREATE TABLE {PARENT} (LIKE {OLD} INCLUDING DEFAULTS, "
        f"CONSTRAINT {PARENT}_pkey PRIMARY KEY (id), CONSTRAINT {PARENT}_event_id_key UNIQUE (event_id))"
    )
    _finish()  # dropping the partitioned table drops every partition with it
