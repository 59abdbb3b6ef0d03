"""Destruction on schedule: everything past its retention, irrecoverably, each batch
counted in the destruction ledger (파기 기록) in the same transaction.

Targets: access-log rows, archived records (then the subject's key once none
of their records remains: crypto-shredding), provision records, operator
access records, spent withdrawal links, and registered host sources whose items
have a period (retention/source_purge.py). Nothing is touched before its time;
two purges at once destroy each row once; a killed purge completes next run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine, Table, column, delete, func, literal_column, select, table, text
from sqlalchemy.engine import Connection

from ..storage import archive_tables as archive_db
from ..storage.access_chain import chain_key, destroy_expired_prefix
from ..storage.engines import as_utc
from ..storage.partitions import (
    ACCESS_LOG,
    ARCHIVE,
    Partitioned,
    ensure_partitions,
    is_partitioned,
    month_of,
    partitions,
)
from ..storage.tables import access_log, operator_access, provisions, token_uses
from .erasure import erase_restored
from .guardian_purge import purge_guardians
from .ledger import INTERNAL_CLASSES, method_of, statute_of, write_ledger
from .mail_addresses import ADDRESS_CLASS, expire_mail_addresses
from .partitions import drop_expired_partitions
from .report import PurgeReport, Run
from .scrub import scrub_all
from .source_purge import purge_sources
from .tombstones import read_tombstones, reapply_tombstones, shred_keys

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["known_classes", "purge"]


@dataclass(frozen=True)
class _Target:
    name: str
    database: str  # "main" or "archive"
    table: Table
    fixed_class: str | None = None  # else the table's `retention` column
    partitioned: Partitioned | None = None  # PostgreSQL: by month of expiry


# Batches start at ``batch_size`` rows and double while a transaction takes under
# BATCH_SECONDS (halving again, never below ``batch_size``, when one takes over twice
# that), up to MAX_BATCH rows: every commit rewrites each index page its batch touched,
# so fewer, larger batches are several times faster, while no transaction holds the
# write lock for long (writers wait at most ~2 x BATCH_SECONDS).
BATCH_SECONDS = 0.08  # grow a batch below this, halve it above twice this: writers wait < ~200 ms
MAX_BATCH = 250_000

TARGETS = (
    _Target("access_log", "main", access_log, partitioned=ACCESS_LOG),
    _Target("archived_records", "archive", archive_db.archived_records, partitioned=ARCHIVE),
    _Target("provisions", "main", provisions),
    _Target("operator_access", "main", operator_access, fixed_class="operator_access"),
    _Target("withdrawal_links", "main", token_uses, fixed_class="withdrawal_link"),
)


def known_classes(services: Services) -> list[str]:
    return [r.id for r in services.policy.retention if r.period is not None] + list(INTERNAL_CLASSES)


def purge(
    services: Services,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = 2000,
    classes: Iterable[str] | None = None,
    executor: str = "cli",
    vacuum: bool = False,
    approved_by: str | None = None,
) -> PurgeReport:
    """Destroy what is past its retention at ``now`` (default: the clock); the ledger
    names ``executor`` as who ran it and ``approved_by`` as who approved it."""
    now = now or services.now()
    wanted = set(classes) if classes else None
    report = PurgeReport(Run(uuid.uuid4().hex, now, executor, approved_by), dry_run=dry_run)
    for retention in known_classes(services):  # every class gets a line, even with nothing to do
        if wanted is None or retention in wanted:
            report.cls(retention, statute_of(services, retention))
    services.flush(timeout=60)
    if not dry_run:
        dead = read_tombstones(services)
        reapply_tombstones(services, report, wanted, dead)
        erase_restored(services, report, wanted, dead)
    scope = _Scope(services, report, now, wanted)
    for target in TARGETS:
        engine = services.databases.main if target.database == "main" else services.databases.archive
        if not dry_run:
            if target.partitioned is not None:  # PostgreSQL: whole past months first, then the boundary
                ensure_partitions(engine, services.now(), table=target.partitioned)
                drop_expired_partitions(services, engine, report, now, wanted, target.partitioned, target.name)
            _destroy_expired(scope, engine, target, batch_size)
        _tally(scope, engine, target, expired=dry_run)
    # Host rows past their class's period, member or not (개인정보 보호법 제21조 제1항).
    purge_sources(services, report, now, dry_run, wanted, batch_size)
    purge_guardians(services, report, now, dry_run, wanted)  # 법정대리인 contact of members who left
    if wanted is None or "subject_key" in wanted:
        shred_keys(services, report, now, dry_run, wanted)
    if not dry_run and (wanted is None or ADDRESS_CLASS in wanted):
        expired = expire_mail_addresses(services, report.run)
        entry = report.cls(ADDRESS_CLASS, statute_of(services, ADDRESS_CLASS))
        entry.destroyed += expired
        if expired:
            entry.targets.add("outbox")
    if not dry_run and report.destroyed:
        scrub_all(services, vacuum)
    return report


# -- destroying --------------------------------------------------------------------------
def _class_column(target: _Target) -> Any:
    return target.table.c.retention if target.fixed_class is None else None


def _classes_present(conn: Connection, target: _Target) -> list[str]:
    """The classes a table holds, by a loose index scan over (retention, expires_at):
    one seek per class, however many rows there are."""
    if target.fixed_class is not None:
        return [target.fixed_class]
    t = target.table
    found: list[str] = []
    current = conn.execute(select(func.min(t.c.retention))).scalar()
    while current is not None:
        found.append(current)
        current = conn.execute(select(func.min(t.c.retention)).where(t.c.retention > current)).scalar()
    return found


def _class_where(target: _Target, retention: str, t: Any = None) -> list[Any]:
    """The rows of class ``retention`` in ``target``'s table (or ``t``, one of its partitions)."""
    if target.fixed_class is not None:
        return []
    return [(target.table if t is None else t).c.retention == retention]


def _expired_classes(conn: Connection, target: _Target, now: datetime, wanted: set[str] | None) -> list[str]:
    t = target.table
    expired = []
    for retention in _classes_present(conn, target):
        if wanted is not None and retention not in wanted:
            continue
        probe = select(t.c.expires_at).where(*_class_where(target, retention), t.c.expires_at <= now).limit(1)
        if conn.execute(probe).first() is not None:
            expired.append(retention)
    return expired


def _batch_delete(
    conn: Connection, target: _Target, now: datetime, retention: str, batch_size: int, place: str | None = None
) -> int:
    t: Any = target.table
    key = t.c.nonce if target.table is token_uses else t.c.id
    if place is not None:  # one partition of it (PostgreSQL), its columns typed as the parent's
        t = table(place, *(column(c.name, c.type) for c in (t.c.retention, t.c.expires_at)))
    where = [t.c.expires_at <= now, *_class_where(target, retention, t)]
    if conn.dialect.name in ("mysql", "mariadb"):
        stmt = delete(t).where(*where).with_dialect_options(mysql_limit=batch_size)
    elif conn.dialect.name == "postgresql":
        # By physical row address: a TID scan, not a join back through the primary key
        # (2-3x faster). A row deleted meanwhile by another purge is skipped, not counted.
        # Partitioned, one partition at a time (`place`): a ctid is unique only there.
        ctid: Any = literal_column("ctid")
        by_address = select(ctid).select_from(t).where(*where).order_by(t.c.expires_at).limit(batch_size)
        stmt = delete(t).where(ctid == func.any(func.array(by_address.scalar_subquery())), *where)
    else:
        # SQLite runs the statement under its single write lock, so the subquery's rows
        # are still there: repeating the predicate outside would make it scan the whole
        # expired range for every batch instead of seeking by rowid.
        victims = select(key).where(*where).order_by(t.c.expires_at).limit(batch_size).scalar_subquery()
        stmt = delete(t).where(key.in_(victims))
    return int(conn.execute(stmt).rowcount or 0)


@dataclass(frozen=True)
class _Scope:
    """What one purge decides by (``now``, the ``wanted`` classes) and reports to."""

    services: Services
    report: PurgeReport
    now: datetime
    wanted: set[str] | None


def _destroy_expired(scope: _Scope, engine: Engine, target: _Target, batch_size: int) -> None:
    services, report, now, wanted = scope.services, scope.report, scope.now, scope.wanted
    with engine.connect() as conn:
        found = _expired_classes(conn, target, now, wanted)
    method = method_of(engine)
    places = _places(engine, target, now) if found else []
    for retention in found:
        entry = report.cls(retention, statute_of(services, retention))
        entry.targets.add(target.name)
        size = batch_size
        for place in places:
            while True:
                # One short transaction per batch: the rows and their ledger count commit together.
                started = time.monotonic()
                with engine.begin() as conn:
                    if target.table is operator_access:  # a prefix of the hash chain, the anchor moved
                        count = destroy_expired_prefix(conn, chain_key(services.hash_key), now, size)
                    else:
                        count = _batch_delete(conn, target, now, retention, size, place)
                    if count:
                        write_ledger(conn, services, report.run, retention, target.name, count, method)
                entry.destroyed += count
                # Stop only on an empty batch: a short one may just mean a concurrent
                # purge took some of these rows, while more remain.
                if not count:
                    break
                took = time.monotonic() - started
                if took < BATCH_SECONDS:
                    size = min(size * 2, max(MAX_BATCH, batch_size))
                elif took > 2 * BATCH_SECONDS:
                    size = max(size // 2, batch_size)


def _places(engine: Engine, target: _Target, now: datetime) -> list[str | None]:
    """Where a batch DELETE looks: the table (``None``) or, partitioned on PostgreSQL,
    each partition that can hold a row expired at ``now`` (its month begun, or
    DEFAULT), one after the other: a row address (``ctid``) is per partition, so one
    DELETE through the parent would look each address up in every partition."""
    if target.partitioned is None or engine.dialect.name != "postgresql":
        return [None]
    with engine.connect() as conn:
        if not is_partitioned(conn, target.partitioned):
            return [None]
        at = now.astimezone(timezone.utc).replace(tzinfo=None)
        months = [p.name for p in partitions(conn, target.partitioned) if p.lower <= at]
    return [*months, target.partitioned.default]


def _tally(scope: _Scope, engine: Engine, target: _Target, *, expired: bool) -> None:
    """Per class of ``target``: what is kept and its next expiry, and with ``expired``
    (a dry run) what would be destroyed. Range scans of the (class, expiry) index; on a
    partitioned table only of the month ``now`` is in (:class:`_Split`)."""
    services, report, now, wanted = scope.services, scope.report, scope.now, scope.wanted
    t = target.table
    with engine.connect() as conn:
        counted = _month_counts(conn, target)
        exp = t.c.expires_at
        for retention in _classes_present(conn, target):
            if wanted is not None and retention not in wanted:
                continue
            where = _class_where(target, retention)
            entry = report.cls(retention, statute_of(services, retention))
            split = _Split.of(counted, retention, now)
            if expired:
                gone = (
                    split.earlier
                    + conn.execute(
                        select(func.count()).select_from(t).where(*where, exp <= now, *split.this_month(exp))
                    ).scalar_one()
                )
                entry.destroyed += int(gone)
                if gone:
                    entry.targets.add(target.name)
            kept, first = conn.execute(
                select(func.count(), func.min(exp)).where(*where, exp > now, *split.this_month(exp))
            ).one()
            kept += split.later
            if first is None and split.later:  # the next expiry is in a later month
                first = conn.execute(select(func.min(exp)).where(*where, exp > now)).scalar()
            if not kept:
                continue
            entry.kept += int(kept)
            entry.targets.add(target.name)
            first = as_utc(first)
            if first is not None and (entry.next_expiry is None or first < entry.next_expiry):
                entry.next_expiry = first


def _month_counts(conn: Connection, target: _Target) -> dict[tuple[datetime, str], int] | None:
    """(month, class) -> rows of a table partitioned on PostgreSQL, as the database
    counted them; ``None`` elsewhere."""
    if target.partitioned is None or not is_partitioned(conn, target.partitioned):
        return None
    found = conn.execute(text(f"SELECT month, retention, rows FROM {target.partitioned.month_rows}"))  # noqa: S608
    return {(month, retention): int(rows) for month, retention, rows in found}


@dataclass(frozen=True)
class _Split:
    """A class's rows in whole months before and after the month ``now`` is in, from
    the database's counts (a table partitioned on PostgreSQL), so that only that month
    is read; with no counts, nothing is split off and the whole table is read."""

    earlier: int = 0
    later: int = 0
    start: datetime | None = None  # the month `now` is in, aware UTC
    end: datetime | None = None

    @classmethod
    def of(cls, counted: dict[tuple[datetime, str], int] | None, retention: str, now: datetime) -> _Split:
        if counted is None:
            return cls()
        start = month_of(now)
        end = start + relativedelta(months=1)
        earlier = sum(n for (month, r), n in counted.items() if r == retention and month < start)
        later = sum(n for (month, r), n in counted.items() if r == retention and month >= end)
        return cls(earlier, later, start.replace(tzinfo=timezone.utc), end.replace(tzinfo=timezone.utc))

    def this_month(self, expires_at: Any) -> list[Any]:
        return [] if self.start is None else [expires_at >= self.start, expires_at < self.end]
