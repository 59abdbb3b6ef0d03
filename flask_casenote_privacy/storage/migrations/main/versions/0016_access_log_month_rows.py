"""PostgreSQL: the access log's rows counted per month of expiry and class, by the
database itself, so that the purge can drop a whole past month without reading it.

``privacy_access_log_month_rows`` holds one row per (month, retention class): how many
access-log rows expire in that calendar month (UTC, the partitions' bounds) under that
class. A row-level trigger, cloned by PostgreSQL onto every partition (those made later
too), keeps it exact for every INSERT, DELETE and UPDATE of ``expires_at`` or
``retention``, whichever table the statement names and whichever code runs it: the
capture writer, the spool replay, the purge's batched DELETE, a host's own SQL. A row
moved between partitions by an UPDATE fires DELETE then INSERT, which count it out and
in. The purge's DROP of a month deletes that month's counts in the same transaction.

The counts of the rows already there are taken here, under a lock that keeps writers
out for as long as the one grouped scan takes (docs/purge.md: a quiet hour).

A no-op on SQLite and MariaDB, which keep one table and the batched DELETE.

Revision ID: main_0016
Revises: main_0015
Create Date: 2026-11-30
"""

from alembic import op

from flask_casenote_privacy.storage.partitions import MONTH_ROWS, PARENT

revision = "main_0016"
down_revision = "main_0015"
branch_labels = None
depends_on = None

FUNCTION = f"{MONTH_ROWS}_count"
TRIGGER = f"{MONTH_ROWS}_count"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE TABLE {MONTH_ROWS} (month timestamp NOT NULL, retention varchar(64) NOT NULL, "
        f"rows bigint NOT NULL, CONSTRAINT {MONTH_ROWS}_pkey PRIMARY KEY (month, retention))"
    )
    # A count that goes below zero would show drift, so a missing row is made at -1.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                INSERT INTO {MONTH_ROWS} AS c (month, retention, rows)
                VALUES (date_trunc('month', OLD.expires_at), OLD.retention, -1)
                ON CONFLICT (month, retention) DO UPDATE SET rows = c.rows - 1;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO {MONTH_ROWS} AS c (month, retention, rows)
                VALUES (date_trunc('month', NEW.expires_at), NEW.retention, 1)
                ON CONFLICT (month, retention) DO UPDATE SET rows = c.rows + 1;
            END IF;
            RETURN NULL;
        END $$
        """  # noqa: S608 - constants
    )
    # Writers wait while the rows already there are counted, so none is missed or
    # counted twice; the trigger is in place before they go on.
    op.execute(f"LOCK TABLE {PARENT} IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        f"INSERT INTO {MONTH_ROWS} (month, retention, rows) "  # noqa: S608 - constants
        f"SELECT date_trunc('month', expires_at), retention, count(*) FROM {PARENT} GROUP BY 1, 2"
    )
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF expires_at, retention "
        f"ON {PARENT} FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {PARENT}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    op.execute(f"DROP TABLE IF EXISTS {MONTH_ROWS}")
