"""Monthly partitions of the access log on PostgreSQL (declarative range partitioning
on ``expires_at``, since migration ``main_0015``).

Each calendar month of expiry (in UTC; ``expires_at`` is stored as naive UTC) has
its own table ``privacy_access_log_pYYYYMM``; a DEFAULT partition
``privacy_access_log_default`` takes a row of a month that has none yet, so an
insert never fails. :func:`ensure_partitions` creates the coming months ahead of
the writer and moves any row that landed in DEFAULT into its month's partition.
The purge drops a whole partition once its month is past (retention/partitions.py).

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
    "DEFAULT_PARTITION",
    "MONTH_ROWS",
    "PARENT",
    "Partition",
    "ensure_partitions",
    "is_partition_name",
    "is_partitioned",
    "lock_not_available",
    "month_of",
    "month_rows",
    "partition_name",
    "partitions",
]

PARENT = "privacy_access_log"
DEFAULT_PARTITION = f"{PARENT}_default"
MONTH_ROWS = f"{PARENT}_month_rows"
"""Rows per (month of expiry, class), kept exact by a trigger (``main_0016``)."""
_NAME = re.compile(rf"^{PARENT}_(?:p(\d{{4}})(\d{{2}})|default)$")
LOCK_TIMEOUT = "100ms"  # DDL on the parent never queues capture's inserts for longer


@dataclass(frozen=True)
class Partition:
    """One month's partition: rows with ``lower <= expires_at < upper`` (naive UTC)."""

    name: str
    lower: datetime
    upper: datetime


def is_partition_name(name: str | None) -> bool:
    """A partition of the access log (hidden from a host's autogenerate like the parent)."""
    return bool(name and _NAME.match(name))


def month_rows(conn: Connection, month: datetime) -> list[tuple[str, int]]:
    """The rows expiring in ``month`` per class, as the database counted them on every
    insert, delete and update (``main_0016``): (class, rows) with rows not zero."""
    found = conn.execute(
        text(f"SELECT retention, rows FROM {MONTH_ROWS} WHERE month = :month AND rows <> 0 ORDER BY retention"),  # noqa: S608
        {"month": month},
    )
    return [(retention, int(rows)) for retention, rows in found]


def month_of(moment: datetime) -> datetime:
    """The first instant (naive UTC) of ``moment``'s calendar month in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def partition_name(month: datetime) -> str:
    return f"{PARENT}_p{month.year:04d}{month.month:02d}"


def lock_not_available(exc: OperationalError) -> bool:
    """PostgreSQL gave up waiting for a lock (``lock_timeout``: SQLSTATE 55P03)."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
        ),
        {"name": PARENT},
    ).first()
    return found is not None


def partitions(conn: Connection) -> list[Partition]:
    """The monthly partitions attached now, oldest first (not DEFAULT)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :name AND pg_table_is_visible(p.oid)"
        ),
        {"name": PARENT},
    ).scalars()
    found = []
    for name in names:
        match = _NAME.match(name)
        if match and match.group(1):
            lower = datetime(int(match.group(1)), int(match.group(2)), 1)
            found.append(Partition(name, lower, lower + relativedelta(months=1)))
    return sorted(found, key=lambda p: p.lower)


def ensure_partitions(engine: Engine, now: datetime, months_ahead: int = 3) -> list[str]:
    """Create the partitions of ``now``'s month and the ``months_ahead`` next ones
    (idempotent), and give every month that has rows in DEFAULT its own partition,
    moving those rows into it. Returns the partitions created.

    A no-op but on a partitioned PostgreSQL access log. Each partition is made in
    its own short transaction with ``lock_timeout`` set: when capture holds the
    parent, that month is skipped and made on the next call (DEFAULT keeps its rows
    meanwhile), rather than queueing every insert behind the DDL."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return []
        have = {p.lower for p in partitions(conn)}
        stray = conn.execute(
            text(f"SELECT DISTINCT date_trunc('month', expires_at) FROM {DEFAULT_PARTITION}")  # noqa: S608 - constant
        ).scalars()
        months = {m for m in stray if m is not None}
    first = month_of(now)
    months |= {first + relativedelta(months=k) for k in range(months_ahead + 1)}
    created = []
    for month in sorted(months - have):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                _create(conn, month)
        except OperationalError as exc:
            if not lock_not_available(exc):
                raise
            continue  # capture held the parent: the next call makes this month
        created.append(partition_name(month))
    return created


def _create(conn: Connection, month: datetime) -> None:
    """Create ``month``'s partition; rows of that month waiting in DEFAULT move into it
    first (PostgreSQL refuses to attach a range that DEFAULT still holds rows of)."""
    name = partition_name(month)
    lower, upper = month.isoformat(" "), (month + relativedelta(months=1)).isoformat(" ")
    bounds = f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
    within = "expires_at >= :lower AND expires_at < :upper"
    waiting = conn.execute(
        text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE {within} LIMIT 1"),  # noqa: S608 - constants
        {"lower": lower, "upper": upper},
    ).first()
    if waiting is None:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} {bounds}"))
        return
    conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {within} RETURNING *) "  # noqa: S608 - constants
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        {"lower": lower, "upper": upper},
    )
    conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {bounds}"))
