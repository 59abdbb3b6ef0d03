"""PostgreSQL: destroying the access log a month at a time (since ``main_0015``).

Every monthly partition whose upper bound is at or before the purge's ``now`` holds
only expired rows (개인정보 보호법 제21조 제1항: destroyed without delay once past
its period): it is counted by class into the destruction ledger (파기 기록), which
still counts every row, and dropped, in one transaction, the ledger rows written
before the DROP. ``lock_timeout`` bounds how long the DROP may queue capture's
inserts behind it; a partition whose lock was not had after a few tries is left to
the batched DELETE that follows (slower, same result). The boundary month (the one
``now`` falls in) and DEFAULT are purged by that DELETE, by the exact expiry.
SQLite and MariaDB never come here.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from ..storage.partitions import LOCK_TIMEOUT, is_partitioned, lock_not_available, partitions
from .ledger import statute_of, write_ledger
from .report import PurgeReport

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["DROP_METHOD", "drop_expired_partitions"]

DROP_METHOD = "DROP PARTITION (PostgreSQL): the month's table and its indexes unlinked at commit, no dead tuples"
TRIES = 5  # lock attempts per partition before leaving it to the batched DELETE
TARGET = "access_log"


def drop_expired_partitions(
    services: Services, engine: Engine, report: PurgeReport, now: datetime, wanted: set[str] | None
) -> int:
    """Drop every access-log partition entirely past ``now``; returns the rows destroyed.

    With ``wanted`` classes, a partition holding another class is left to the DELETE,
    which takes only the wanted classes' rows out of it."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return 0
        at = now.astimezone(timezone.utc).replace(tzinfo=None)  # bounds are naive UTC
        expired = [p for p in partitions(conn) if p.upper <= at]
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
                    counts = conn.execute(
                        text(f"SELECT retention, count(*) FROM {part.name} GROUP BY retention")  # noqa: S608
                    ).all()
                    if wanted is not None and any(retention not in wanted for retention, _ in counts):
                        break
                    for retention, count in counts:
                        write_ledger(conn, services, report.run, retention, TARGET, int(count), DROP_METHOD)
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
                entry.destroyed += int(count)
                entry.targets.add(TARGET)
                destroyed += int(count)
            break
    return destroyed
