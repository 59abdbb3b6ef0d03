"""Host data past its period: rows of a registered source whose items the policy keeps
for a period (the demo's searches: usage records, 3 months) are destroyed that period
after their own date (``occurred_at``), member or not (개인정보 보호법 제21조 제1항).

A :class:`~..sources.ModelSource` is purged here with Core statements in short
batches; any other source brings its own ``purge_expired(now, period, tz, dry_run=...)``
returning a :class:`PeriodPurge`. Each batch is counted in the destruction ledger of
the main database right after the host's transaction commits (the host's rows live in
another database, so the two cannot share a transaction: a crash between them loses
that batch's count, never counts rows that are still there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..periods import Period, add_period
from ..sources import ModelSource, period_classes
from ..storage.engines import checkpoint_wal
from .ledger import statute_of, write_ledger

if TYPE_CHECKING:
    from ..services import Services
    from .report import PurgeReport

__all__ = ["PeriodPurge", "purge_model_rows", "purge_sources"]

# Rows dated this long before (after) ``now - period`` are past (within) their period
# for certain: calendar month steps clamp a date by at most three days.
_MARGIN = timedelta(days=5)


@dataclass
class PeriodPurge:
    """What one source's purge by period found: destroyed (or, in a dry run, due), kept,
    and the earliest expiry among the rows kept."""

    destroyed: int = 0
    kept: int = 0
    next_expiry: datetime | None = None


def purge_sources(
    services: Services, report: PurgeReport, now: datetime, dry_run: bool, wanted: set[str] | None, batch_size: int
) -> None:
    """Purge every registered source with a period class (in ``wanted``), into ``report``."""
    tz = services.policy.tz
    for name, source in services.sources.items():
        classes = period_classes(services.policy, source)
        if len(classes) != 1 or (wanted is not None and classes[0].id not in wanted):
            continue  # registration refuses anything else (services.check_source_period)
        cls = classes[0]
        assert cls.period is not None
        target = f"host:{name}"[:64]
        entry = report.cls(cls.id, statute_of(services, cls.id))
        method = f"rows of the host's {name} deleted {cls.period} after their own date"

        def counted(count: int, retention: str = cls.id, method: str = method, target: str = target) -> None:
            with services.databases.main.begin() as conn:
                write_ledger(conn, services, report.run, retention, target, count, method)

        if isinstance(source, ModelSource):
            found = purge_model_rows(
                source, now, cls.period, tz, dry_run=dry_run, batch_size=batch_size, counted=counted
            )
        else:
            found = source.purge_expired(now, cls.period, tz, dry_run=dry_run)  # type: ignore[attr-defined]
            if found.destroyed and not dry_run:
                counted(found.destroyed)
        entry.destroyed += found.destroyed
        entry.kept += found.kept
        if found.destroyed or found.kept:
            entry.targets.add(target)
        if found.next_expiry is not None and (entry.next_expiry is None or found.next_expiry < entry.next_expiry):
            entry.next_expiry = found.next_expiry


def purge_model_rows(
    source: ModelSource,
    now: datetime,
    period: Period,
    tz: ZoneInfo,
    *,
    dry_run: bool = False,
    batch_size: int = 2000,
    counted: Callable[[int], None] | None = None,
) -> PeriodPurge:
    """Destroy ``source``'s rows whose ``occurred_at`` + ``period`` (on ``tz``'s calendar,
    as ``periods.add_period`` counts it) is at or before ``now``. Rows without a date are
    kept. Rows well past the boundary go by one range predicate; the few days around it
    are decided row by row with ``add_period``, so the boundary is exact."""
    assert source.occurred_at is not None
    column = source.columns[source.occurred_at]
    aware = bool(getattr(column.type, "timezone", False))

    def bound(instant: datetime) -> datetime:
        utc = instant.astimezone(timezone.utc)
        return utc if aware else utc.replace(tzinfo=None)

    wall = now.astimezone(tz).replace(tzinfo=None) - period.delta
    surely_past = bound((wall - _MARGIN).replace(tzinfo=tz))
    surely_within = bound((wall + _MARGIN).replace(tzinfo=tz))
    keys = [source.columns[k] for k in source.primary_key]
    result = PeriodPurge()

    def expiry(value: Any) -> datetime:
        when = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return add_period(when, period, tz)

    with source.session() as session:
        due = int(
            session.scalar(sa.select(sa.func.count()).select_from(source.model).where(column <= surely_past)) or 0
        )
        near = session.execute(
            sa.select(*keys, column).where(column > surely_past, column <= surely_within).order_by(column)
        ).all()
        later = session.execute(sa.select(sa.func.count(), sa.func.min(column)).where(column > surely_within)).one()
    expired = [tuple(row[:-1]) for row in near if expiry(row[-1]) <= now]
    staying = [expiry(row[-1]) for row in near if expiry(row[-1]) > now]
    if later[1] is not None:
        staying.append(expiry(later[1]))
    result.kept = len(near) - len(expired) + int(later[0] or 0)
    result.next_expiry = min(staying) if staying else None
    if dry_run:
        result.destroyed = due + len(expired)
        return result
    while True:  # the rows well past their period, a batch per transaction
        with source.session() as session:
            batch = [tuple(r) for r in session.execute(sa.select(*keys).where(column <= surely_past).limit(batch_size))]
            count = _delete(session, keys, batch)
        result.destroyed += count
        if count and counted is not None:
            counted(count)
        if len(batch) < batch_size:
            break
    for start in range(0, len(expired), batch_size):
        with source.session() as session:
            count = _delete(session, keys, expired[start : start + batch_size])
        result.destroyed += count
        if count and counted is not None:
            counted(count)
    if result.destroyed:
        with source.session() as session:
            engine = session.get_bind().engine
        if engine.dialect.name == "sqlite":
            checkpoint_wal(engine)
    return result


def _delete(session: Any, keys: list[Any], rows: list[tuple[Any, ...]]) -> int:
    if not rows:
        return 0
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # Overwrite what is deleted instead of leaving it in free pages (as erasure does).
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")
    table = keys[0].table
    where = keys[0].in_([r[0] for r in rows]) if len(keys) == 1 else sa.tuple_(*keys).in_(rows)
    return int(session.execute(sa.delete(table).where(where)).rowcount or 0)
