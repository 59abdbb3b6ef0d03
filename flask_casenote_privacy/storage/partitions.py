"""Monthly partitions on PostgreSQL (declarative range partitioning on
``expires_at``): the access log since migration ``main_0015``, the archive since
``archive_0006``.

Each calendar month of expiry (in UTC; ``expires_at`` is stored as naive UTC) has
its own table ``<parent>_pYYYYMM``; a DEFAULT partition ``<parent>_default`` takes
a row of a month that has none yet, so an insert never fails. :func:`ensure_partitions`
creates the coming months ahead of the writer and moves any row that landed in
DEFAULT into its month's partition. ``<parent>_month_rows`` holds the rows per month
and class, kept exact by a trigger (``main_0016``, ``archive_0006``). The purge drops
a whole partition once its month is past (retention/partitions.py).

SQLite and MariaDB keep one unpartitioned table; every function here does nothing
there (see docs/limits.md for why MariaDB is not partitioned).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

__all__ = [
    "ACCESS_LOG",
    "ARCHIVE",
    "DEFAULT_PARTITION",
    "MONTH_ROWS",
    "Partition",
    "Partitioned",
    "count_rows_of",
    "ensure_partitions",
    "is_partition_name",
    "is_partitioned",
    "lock_not_available",
    "month_of",
    "month_rows",
    "partition_names",
    "partitions",
]

LOCK_TIMEOUT = "100ms"  # DDL on the parent never queues capture's inserts for longer

# The rows a statement added, removed or changed, counted per (month of expiry, class)
# once per statement from its transition tables. Statement-level, not row-level: a
# row trigger would update one count row once per row, and PostgreSQL walks all of a
# transaction's versions of that row on each update, so a 250,000-row DELETE would
# take quadratic time. The count rows are updated in (month, class) order, so two
# writers' batches that both span two months or classes lock them in the same order
# and cannot deadlock.
COUNT_FUNCTION = """
CREATE OR REPLACE FUNCTION {counts}_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {counts} AS c (month, retention, rows)
        SELECT date_trunc('month', expires_at), retention, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (month, retention) DO UPDATE SET rows = c.rows + excluded.rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {counts} AS c (month, retention, rows)
        SELECT date_trunc('month', expires_at), retention, -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (month, retention) DO UPDATE SET rows = c.rows + excluded.rows;
    ELSE
        INSERT INTO {counts} AS c (month, retention, rows)
        SELECT month, retention, sum(n) FROM (
            SELECT date_trunc('month', expires_at) AS month, retention, 1 AS n FROM new_rows
            UNION ALL
            SELECT date_trunc('month', expires_at), retention, -1 FROM old_rows
        ) AS moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
        ON CONFLICT (month, retention) DO UPDATE SET rows = c.rows + excluded.rows;
    END IF;
    RETURN NULL;
END $$
"""
_TRIGGERS = {
    "ins": "INSERT ON {on} REFERENCING NEW TABLE AS new_rows",
    "del": "DELETE ON {on} REFERENCING OLD TABLE AS old_rows",
    "upd": "UPDATE ON {on} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


@dataclass(frozen=True)
class Partitioned:
    """A table partitioned by month of expiry on PostgreSQL, and the names around it."""

    parent: str

    @property
    def default(self) -> str:
        return f"{self.parent}_default"

    @property
    def month_rows(self) -> str:
        """Rows per (month of expiry, class), kept exact by a trigger."""
        return f"{self.parent}_month_rows"

    def name(self, month: datetime) -> str:
        return f"{self.parent}_p{month.year:04d}{month.month:02d}"


ACCESS_LOG = Partitioned("privacy_access_log")
ARCHIVE = Partitioned("privacy_archived_record")
DEFAULT_PARTITION = ACCESS_LOG.default
MONTH_ROWS = ACCESS_LOG.month_rows
_NAME = re.compile(rf"^(?:{ACCESS_LOG.parent}|{ARCHIVE.parent})_(?:p(\d{{4}})(\d{{2}})|default)$")


@dataclass(frozen=True)
class Partition:
    """One month's partition: rows with ``lower <= expires_at < upper`` (naive UTC)."""

    name: str
    lower: datetime
    upper: datetime


def is_partition_name(name: str | None) -> bool:
    """A partition of the access log or the archive (hidden from a host's autogenerate
    like the parent)."""
    return bool(name and _NAME.match(name))


def partition_names(conn: Connection, table: Partitioned) -> list[str]:
    """Every partition attached to ``table`` now, DEFAULT included."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :name AND pg_table_is_visible(p.oid)"
        ),
        {"name": table.parent},
    ).scalars()
    return sorted(names)


def count_rows_of(conn: Connection, table: Partitioned, relation: str) -> None:
    """Put the counting triggers on ``relation``, the parent or one of its partitions.

    A statement fires the statement-level triggers of the table it names only: on the
    parent for rows routed to any partition, on a partition for a statement naming it
    (a host's own SQL, DEFAULT's rows moved). So both carry them, and nothing is
    counted twice. Idempotent."""
    for suffix, event in _TRIGGERS.items():
        name = f"{table.month_rows}_{suffix}"
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {relation}"))
        conn.execute(
            text(
                f"CREATE TRIGGER {name} AFTER {event.format(on=relation)} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table.month_rows}_count()"
            )
        )


def month_rows(conn: Connection, month: datetime, table: Partitioned = ACCESS_LOG) -> list[tuple[str, int]]:
    """The rows expiring in ``month`` per class, as the database counted them on every
    insert, delete and update: (class, rows) with rows not zero."""
    found = conn.execute(
        text(f"SELECT retention, rows FROM {table.month_rows} WHERE month = :month AND rows <> 0 ORDER BY 1"),  # noqa: S608
        {"month": month},
    )
    return [(retention, int(rows)) for retention, rows in found]


def month_of(moment: datetime) -> datetime:
    """The first instant (naive UTC) of ``moment``'s calendar month in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def lock_not_available(exc: OperationalError) -> bool:
    """PostgreSQL gave up waiting for a lock (``lock_timeout``: SQLSTATE 55P03)."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"


def is_partitioned(conn: Connection, table: Partitioned = ACCESS_LOG) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
        ),
        {"name": table.parent},
    ).first()
    return found is not None


def partitions(conn: Connection, table: Partitioned = ACCESS_LOG) -> list[Partition]:
    """The monthly partitions attached now, oldest first (not DEFAULT)."""
    found = []
    for name in partition_names(conn, table):
        match = _NAME.match(name)
        if match and match.group(1):
            lower = datetime(int(match.group(1)), int(match.group(2)), 1)
            found.append(Partition(name, lower, lower + relativedelta(months=1)))
    return sorted(found, key=lambda p: p.lower)


def ensure_partitions(
    engine: Engine, now: datetime, months_ahead: int = 3, table: Partitioned = ACCESS_LOG
) -> list[str]:
    """Create the partitions of ``now``'s month and the ``months_ahead`` next ones
    (idempotent), and give every month that has rows in DEFAULT its own partition,
    moving those rows into it. Returns the partitions created.

    A no-op but on a partitioned PostgreSQL table. Each partition is made in
    its own short transaction with ``lock_timeout`` set: when capture holds the
    parent, that month is skipped and made on the next call (DEFAULT keeps its rows
    meanwhile), rather than queueing every insert behind the DDL."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        if not is_partitioned(conn, table):
            return []
        have = {p.lower for p in partitions(conn, table)}
        stray = conn.execute(
            text(f"SELECT DISTINCT date_trunc('month', expires_at) FROM {table.default}")  # noqa: S608 - constant
        ).scalars()
        months = {m for m in stray if m is not None}
    first = month_of(now)
    months |= {first + relativedelta(months=k) for k in range(months_ahead + 1)}
    created = []
    for month in sorted(months - have):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                _create(conn, month, table)
        except OperationalError as exc:
            if not lock_not_available(exc):
                raise
            continue  # capture held the parent: the next call makes this month
        created.append(table.name(month))
    return created


def _create(conn: Connection, month: datetime, table: Partitioned) -> None:
    """Create ``month``'s partition; rows of that month waiting in DEFAULT move into it
    first (PostgreSQL refuses to attach a range that DEFAULT still holds rows of)."""
    name, parent, default = table.name(month), table.parent, table.default
    lower, upper = month.isoformat(" "), (month + relativedelta(months=1)).isoformat(" ")
    bounds = f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
    within = "expires_at >= :lower AND expires_at < :upper"
    waiting = conn.execute(
        text(f"SELECT 1 FROM {default} WHERE {within} LIMIT 1"),  # noqa: S608 - constants
        {"lower": lower, "upper": upper},
    ).first()
    counted = conn.execute(text("SELECT to_regclass(:t)"), {"t": table.month_rows}).scalar() is not None
    if waiting is None:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {parent} {bounds}"))
        if counted:
            count_rows_of(conn, table, name)
        return
    conn.execute(text(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {default} WHERE {within} RETURNING *) "  # noqa: S608 - constants
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        {"lower": lower, "upper": upper},
    )
    if counted:
        # DEFAULT's trigger counted the rows out; the new table has no trigger yet: count
        # them back in, and give it its triggers.
        count_rows_of(conn, table, name)
        conn.execute(
            text(
                f"INSERT INTO {table.month_rows} AS c (month, retention, rows) "  # noqa: S608 - constants
                f"SELECT date_trunc('month', expires_at), retention, count(*) FROM {name} GROUP BY 1, 2 "
                "ON CONFLICT (month, retention) DO UPDATE SET rows = c.rows + excluded.rows"
            )
        )
    conn.execute(text(f"ALTER TABLE {parent} ATTACH PARTITION {name} {bounds}"))
