"""PostgreSQL: destroying the access log (``main_0015``) and the archive (``archive_0006``)
a month at a time.

Every monthly partition whose upper bound is at or before the purge's ``now`` holds
only expired rows (개인정보 보호법 제21조 제1항: destroyed without delay once past
its period): its rows per class go into the destruction ledger (파기 기록), which
still counts every row, and it is dropped, in one transaction, the ledger rows written
before the DROP. The rows per class are the database's own counts (``main_0016``: a
trigger keeps them on every insert, delete and update), so the month is not read.
``lock_timeout`` bounds how long the DROP may queue capture's inserts behind it; a
partition whose lock was not had after a few tries is left to the batched DELETE that
follows (slower, same result). The boundary month (the one
``now`` falls in) and DEFAULT are purged by that DELETE, by the exact expiry.
SQLite and MariaDB never come here.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from ..storage.partitions import (
    ACCESS_LOG,
    LOCK_TIMEOUT,
    Partition,
    Partitioned,
    is_partitioned,
    lock_not_available,
    month_rows,
    partitions,
)
from .ledger import statute_of, write_ledger
from .report import PurgeReport

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["DROP_METHOD", "drop_expired_partitions"]

DROP_METHOD = "DROP PARTITION (PostgreSQL): the month's table and its indexes unlinked at commit, no dead tuples"
TRIES = 5  # lock attempts per partition before leaving it to the batched DELETE


def drop_expired_partitions(
    services: Services,
    engine: Engine,
    report: PurgeReport,
    now: datetime,
    wanted: set[str] | None,
    table: Partitioned = ACCESS_LOG,
    target: str = "access_log",
) -> int:
    """Drop every partition of ``table`` entirely past ``now``; returns the rows
    destroyed, written to the ledger under ``target``.

    With ``wanted`` classes, a partition holding another class is left to the DELETE,
    which takes only the wanted classes' rows out of it."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as conn:
        if not is_partitioned(conn, table):
            return 0
        at = now.astimezone(timezone.utc).replace(tzinfo=None)  # bounds are naive UTC
        expired = [p for p in partitions(conn, table) if p.upper <= at]
    destroyed = 0
    for part in expired:
        for attempt in range(TRIES):
            try:
                with engine.begin() as conn:
                    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                    # No row can be added to (or taken from) this month while it is counted,
                    # and a second purge waits for this one (then finds the month gone);
                    # reads go on, and capture writes to other months and is not held.
                    conn.execute(text(f"LOCK TABLE {part.name} IN SHARE ROW EXCLUSIVE MODE"))
                    counts = _counted(conn, part, table)
                    if wanted is not None and any(retention not in wanted for retention, _ in counts):
                        break
                    for retention, count in counts:
                        write_ledger(conn, services, report.run, retention, target, count, DROP_METHOD)
                    conn.execute(text(f"DELETE FROM {table.month_rows} WHERE month = :m"), {"m": part.lower})  # noqa: S608
                    conn.execute(text(f"DROP TABLE {part.name}"))
            except ProgrammingError as exc:
                if getattr(exc.orig, "sqlstate", None) != "42P01":
                    raise
                counts = []  # another purge dropped (and counted) it first
            except OperationalError as exc:
                if not lock_not_available(exc):
                    raise
                time.sleep(0.1 * (attempt + 1))  # capture held it: let its inserts through, try again
                continue
            for retention, count in counts:
                entry = report.cls(retention, statute_of(services, retention))
                entry.destroyed += count
                entry.targets.add(target)
                destroyed += count
            break
    return destroyed


def _counted(conn: Connection, part: Partition, table: Partitioned) -> list[tuple[str, int]]:
    """The rows of ``part`` per class, for the ledger, without reading the month when the
    database's own counts (``main_0016``: a trigger on every insert, delete and update)
    can be trusted; the month is counted row by row when they are missing or show drift
    (a negative count), and an empty month is destroyed with no ledger row.

    Called with the partition locked against writes, so the counts cannot move."""
    if conn.execute(text(f"SELECT 1 FROM {part.name} LIMIT 1")).first() is None:  # noqa: S608 - a partition name
        return []
    counted = month_rows(conn, part.lower, table)
    if counted and all(rows > 0 for _, rows in counted):
        return counted
    found = conn.execute(text(f"SELECT retention, count(*) FROM {part.name} GROUP BY retention ORDER BY 1"))  # noqa: S608
    return [(retention, int(rows)) for retention, rows in found]
