"""Purge speed at scale, against a single raw DELETE on the same table.

One run: N expired and N live access-log rows are generated and bulk-loaded
into ``privacy_access_log``; the loaded database is copied twice (SQLite: the
file; PostgreSQL: ``CREATE DATABASE ... TEMPLATE``), so both measurements
start from identical state:

* ``raw DELETE``: ``DELETE FROM privacy_access_log WHERE expires_at <= :now``
  in one transaction, on the first copy (same engine settings as the
  extension's: on SQLite WAL and ``secure_delete=ON``);
* ``purge``: ``flask_casenote_privacy.retention.purge.purge(privacy.services, now=...)`` on the
  second copy: batches in short transactions, each with its ledger update
  (``--batch-size`` rows first, growing while a transaction stays short).

Reported: seconds and rows/s of each, ratio = raw time / purge time, the
longest purge transaction that deleted rows (from the engine's ``begin``
event to the connection's return to the pool, so the commit is included),
the purge's peak memory (tracemalloc peak; resident set size sampled every
5 ms), and correctness (0 expired left, N live left, ledger sum = N).

Exit status 1 when a target is missed (unless ``--no-check``). See
docs/benchmarks.md.

    python benchmarks/purge.py [--rows 1000000] [--quick] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, delete, event, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.types import DateTime

from flask_casenote_privacy import Privacy
from flask_casenote_privacy.retention.purge import purge
from flask_casenote_privacy.storage.engines import make_engine
from flask_casenote_privacy.storage.partitions import ensure_partitions
from flask_casenote_privacy.storage.tables import access_log, destructions

MIN_RATIO = 0.5  # raw DELETE time / purge time
MAX_TXN_MS = 200.0  # longest purge transaction holding deleted rows
MAX_PEAK_MB = 150.0  # resident set size during the purge
SECRET_KEY = "benchmark secret key, not for production"
LOAD_CHUNK = 20_000
STEP = timedelta(seconds=2)  # between consecutive generated requests
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
EXPIRY = timedelta(days=92)
COLUMNS = (
    "event_id",
    "occurred_at",
    "retention",
    "expires_at",
    "subject",
    "ip",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_agent",
    "purposes",
)
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"


# -- data ---------------------------------------------------------------------------------
def generated_rows(total: int, start: int = 0) -> Iterator[tuple[Any, ...]]:
    """Access-log rows in arrival order (ids and expiries rise together), naive UTC
    datetimes; every third request is a signed-in member, every other one consented."""
    base = T0.replace(tzinfo=None)
    for i in range(start, start + total):
        occurred = base + STEP * i
        member = i % 3 == 0
        consented = i % 2 == 0
        yield (
            f"{i:032x}",
            occurred,
            "access_log",
            occurred + EXPIRY,
            f"member-{i % 50_000}" if member else None,
            f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            "GET" if i % 5 else "POST",
            f"/cases/{i % 100_000}/notes" if i % 4 else "/search",
            200 if i % 17 else 404,
            12.5 + (i % 97),
            USER_AGENT if consented else None,
            "security,user_protection,service_improvement" if consented else "security,user_protection",
        )


def purge_now(rows: int) -> datetime:
    """The instant at which exactly the first ``rows`` generated rows have expired."""
    return T0 + STEP * (rows - 1) + EXPIRY + STEP / 2


def load(engine: Engine, total: int) -> float:
    """Bulk-load ``total`` generated rows; seconds taken."""
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        # Partitioned (main_0015): the months these rows expire in exist, as the writer
        # and the purge make them ahead in a running service (else all would wait in
        # DEFAULT, and the purge would first move them into their months).
        first, last = T0 + EXPIRY, T0 + STEP * (total - 1) + EXPIRY
        ensure_partitions(engine, first, months_ahead=(last.year - first.year) * 12 + last.month - first.month)
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None
            with conn.cursor() as cur, cur.copy(f"COPY privacy_access_log ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in generated_rows(total):
                    copy.write_row(row)
            conn.commit()
        finally:
            raw.close()
    else:
        # The dialect's own bind processor, so stored values are exactly what the app writes.
        to_db = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        assert to_db is not None
        sql = f"INSERT INTO privacy_access_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            for start in range(0, total, LOAD_CHUNK):
                chunk = [
                    (r[0], to_db(r[1]), r[2], to_db(r[3]), *r[4:])
                    for r in generated_rows(min(LOAD_CHUNK, total - start), start)
                ]
                cursor.executemany(sql, chunk)
            cursor.close()
    return time.perf_counter() - started


# -- databases -----------------------------------------------------------------------------
class Copies:
    """The loaded database and two identical copies of it: ``raw`` and ``purge``."""

    def __init__(self, url: URL | None, base: Path) -> None:
        self.base = base
        self.sqlite = url is None or url.get_backend_name() == "sqlite"
        if url is None:
            url = make_url(f"sqlite:///{base / 'loaded.sqlite'}")
        self.loaded = url
        if self.sqlite:
            self.raw = url.set(database=str(base / "raw.sqlite"))
            self.purge = url.set(database=str(base / "purge.sqlite"))
        else:
            self.raw = url.set(database=f"{url.database}_raw")
            self.purge = url.set(database=f"{url.database}_purge")
            self.admin = make_engine(url.set(database="postgres"), {"isolation_level": "AUTOCOMMIT"})

    def make(self, engine: Engine) -> float:
        """Copy the loaded database (whose engine is disposed here) twice; seconds taken."""
        started = time.perf_counter()
        if self.sqlite:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            source = Path(str(self.loaded.database))
            for target in (self.raw, self.purge):
                shutil.copyfile(source, str(target.database))
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE) privacy_access_log")
            engine.dispose()
            self.drop_copies()
            with self.admin.connect() as conn:
                for target in (self.raw, self.purge):
                    conn.exec_driver_sql(f'CREATE DATABASE "{target.database}" TEMPLATE "{self.loaded.database}"')
        return time.perf_counter() - started

    def settle(self) -> None:
        """Before each measurement: nothing of the previous step still being written out."""
        if not self.sqlite:
            with self.admin.connect() as conn:
                conn.exec_driver_sql("CHECKPOINT")
        os.sync()

    def empty_loaded(self) -> None:
        """PostgreSQL: leave the scratch database as it was given (SQLite: the temp dir goes)."""
        if not self.sqlite:
            engine = make_engine(self.loaded)
            with engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE privacy_access_log")
            engine.dispose()

    def drop_copies(self) -> None:
        if not self.sqlite:
            with self.admin.connect() as conn:
                for target in (self.raw, self.purge):
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}"')

    def size_mb(self) -> float:
        if self.sqlite:
            return Path(str(self.loaded.database)).stat().st_size / 2**20
        with self.admin.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(:d)"), {"d": self.loaded.database}).scalar_one()
        return int(size) / 2**20


def privacy_app(url: URL, base: Path, name: str) -> tuple[Flask, Privacy]:
    app = Flask(f"bench_purge_{name}", instance_path=str(base / f"instance-{name}"))
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        PRIVACY_EXTERNAL_URL="http://127.0.0.1",
        PRIVACY_DATABASE_URI=url.render_as_string(hide_password=False),
        PRIVACY_ARCHIVE_DATABASE_URI=f"sqlite:///{base / f'archive-{name}.sqlite'}",
        PRIVACY_SPOOL_DIR=str(base / f"spool-{name}"),
        PRIVACY_CAPTURE=False,
    )
    privacy = Privacy(app)
    with app.app_context():
        privacy.upgrade()
    return app, privacy


# -- instruments ------------------------------------------------------------------------------
class TransactionTimer:
    """Duration of every transaction on ``engine`` that ran a DELETE: from the
    ``begin`` event to the connection's check-in after commit."""

    def __init__(self, engine: Engine) -> None:
        self.durations: list[float] = []
        self.read_only: list[float] = []
        self.rows: list[int] = []  # rows deleted per transaction that deleted any
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "after_cursor_execute", self._execute)
        event.listen(engine.pool, "checkin", self._checkin)

    def _begin(self, conn: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()
        conn.info["bench_deletes"] = 0

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip()[:6].upper() == "DELETE":
            conn.info["bench_deletes"] = conn.info.get("bench_deletes", 0) + max(cursor.rowcount, 0)

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        started = record.info.pop("bench_started", None)
        if started is not None:
            took = time.perf_counter() - started
            deleted = record.info.pop("bench_deletes", 0)
            if deleted:
                self.durations.append(took)
                self.rows.append(deleted)
            else:
                self.read_only.append(took)


class RssSampler(threading.Thread):
    """Peak resident set size while it runs, sampled from /proc/self/statm."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = rss_mb()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_mb())
        return self.peak


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak is the best we have
        return max_rss_mb()


def max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def count(engine: Engine, now: datetime, expired: bool) -> int:
    where = access_log.c.expires_at <= now if expired else access_log.c.expires_at > now
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(access_log).where(where)).scalar_one())


def ledger_sum(engine: Engine) -> int:
    query = select(func.coalesce(func.sum(destructions.c.count), 0)).where(destructions.c.target == "access_log")
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# -- the run -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="expired rows, and as many live ones")
    parser.add_argument("--database-url", help="an empty scratch database (default: SQLite files in a temp dir)")
    parser.add_argument(
        "--batch-size", type=int, default=2000, help="purge's starting batch size (default: the CLI default)"
    )
    parser.add_argument("--quick", action="store_true", help="100,000 expired + 100,000 live")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 100_000
    n = args.rows
    now = purge_now(n)

    tmp = tempfile.TemporaryDirectory(prefix="privacy-purge-bench-")
    base = Path(tmp.name)
    copies = Copies(make_url(args.database_url) if args.database_url else None, base)
    run_started = time.perf_counter()
    loaded = False
    try:
        loader_app, loader = privacy_app(copies.loaded, base, "load")
        with loader_app.app_context():
            engine = loader.services.databases.main
            backend = engine.dialect.name
            server = engine.dialect.server_version_info if backend == "postgresql" else None
            with engine.connect() as conn:
                if conn.execute(select(func.count()).select_from(access_log)).scalar_one():
                    raise SystemExit(f"{copies.loaded.render_as_string()}: privacy_access_log is not empty")
            version_line = (
                f"PostgreSQL {'.'.join(map(str, server or ()))}"
                if backend == "postgresql"
                else f"SQLite {__import__('sqlite3').sqlite_version}"
            )
            print(
                f"flask-casenote-privacy purge: {n:,} expired + {n:,} live access-log rows, "
                f"starting batch size {args.batch_size:,}, {version_line}"
            )
            print(
                f"Python {platform.python_version()}, SQLAlchemy {version('sqlalchemy')}, "
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            loaded = True
            load_s = load(engine, 2 * n)
            print(f"loaded {2 * n:,} rows in {load_s:.1f} s ({2 * n / load_s:,.0f} rows/s)", flush=True)
            copy_s = copies.make(engine)
        print(f"copied twice in {copy_s:.1f} s ({copies.size_mb():,.0f} MiB each)", flush=True)

        # Baseline: one raw DELETE, one transaction, the extension's engine settings.
        raw_engine = make_engine(copies.raw)
        copies.settle()
        started = time.perf_counter()
        with raw_engine.begin() as conn:
            raw_deleted = conn.execute(delete(access_log).where(access_log.c.expires_at <= now)).rowcount
        raw_s = time.perf_counter() - started
        raw_left = count(raw_engine, now, expired=True), count(raw_engine, now, expired=False)
        raw_engine.dispose()
        print(f"raw DELETE: {raw_s:.2f} s", flush=True)

        # The purge, on the identical second copy.
        app, privacy = privacy_app(copies.purge, base, "purge")
        with app.app_context():
            engine = privacy.services.databases.main
            timer = TransactionTimer(engine)
            copies.settle()
            rss_before = rss_mb()
            sampler = RssSampler()
            tracemalloc.start()
            sampler.start()
            started = time.perf_counter()
            report = purge(privacy.services, now=now, batch_size=args.batch_size, executor="benchmark")
            purge_s = time.perf_counter() - started
            rss_peak = sampler.stop()
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            print(f"purge: {purge_s:.2f} s", flush=True)
            destroyed = report.classes["access_log"].destroyed
            expired_left, live_left = count(engine, now, expired=True), count(engine, now, expired=False)
            ledger = ledger_sum(engine)
            privacy.services.databases.dispose()
        loader.services.databases.dispose()

        batches = timer.durations
        longest = max(batches, default=0.0) * 1000
        ratio = raw_s / purge_s
        print()
        print("| step | seconds | rows/s | × raw DELETE speed |")
        print("|---|---:|---:|---:|")
        print(f"| raw DELETE (one transaction) | {raw_s:.2f} | {raw_deleted / raw_s:,.0f} | 1.00 |")
        print(
            f"| purge (starting batch {args.batch_size:,}) | {purge_s:.2f} | {destroyed / purge_s:,.0f} | {ratio:.2f} |"
        )
        ordered = sorted(batches)
        if ordered:
            median = ordered[len(ordered) // 2] * 1000
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
            print(
                f"\npurge transactions that deleted rows: {len(batches):,}; median {median:.1f} ms, "
                f"p99 {p99:.1f} ms, longest {longest:.1f} ms; sum {sum(batches):.2f} s of {purge_s:.2f} s; "
                f"rows per transaction {min(timer.rows):,}–{max(timer.rows):,}; "
                f"read-only transactions: {len(timer.read_only)}, longest "
                f"{max(timer.read_only, default=0.0) * 1000:.0f} ms"
            )
        print(
            f"memory: RSS before the purge {rss_before:.1f} MiB, peak during it {rss_peak:.1f} MiB "
            f"(+{rss_peak - rss_before:.1f}); tracemalloc peak {traced_peak:.2f} MiB; "
            f"process ru_maxrss {max_rss_mb():.1f} MiB"
        )

        checks: list[tuple[str, str, str, bool]] = [
            ("raw DELETE time / purge time", f"{ratio:.2f}", f"≥ {MIN_RATIO}", ratio >= MIN_RATIO),
            ("longest purge transaction (ms)", f"{longest:.1f}", f"≤ {MAX_TXN_MS:g}", 0 < longest <= MAX_TXN_MS),
            ("peak RSS during the purge (MiB)", f"{rss_peak:.1f}", f"< {MAX_PEAK_MB:g}", rss_peak < MAX_PEAK_MB),
            ("expired rows left after the purge", f"{expired_left:,}", "= 0", expired_left == 0),
            ("live rows left after the purge", f"{live_left:,}", f"= {n:,}", live_left == n),
            ("rows destroyed (report)", f"{destroyed:,}", f"= {n:,}", destroyed == n),
            ("ledger sum, access_log", f"{ledger:,}", f"= {n:,}", ledger == n),
            (
                "raw DELETE: deleted / expired left / live left",
                f"{raw_deleted:,} / {raw_left[0]:,} / {raw_left[1]:,}",
                f"{n:,} / 0 / {n:,}",
                (raw_deleted, *raw_left) == (n, 0, n),
            ),
        ]
        print()
        print("| check | value | target | result |")
        print("|---|---:|---|---|")
        for label, value, target, ok in checks:
            print(f"| {label} | {value} | {target} | {'PASS' if ok else 'FAIL'} |")
        print(f"\nwhole run {time.perf_counter() - run_started:.0f} s")
        failed = [label for label, _, _, ok in checks if not ok]
        if failed:
            print(f"FAIL: {', '.join(failed)}")
            return 0 if args.no_check else 1
        print("all targets met")
        return 0
    finally:
        if not copies.sqlite:
            copies.drop_copies()
            if loaded:
                copies.empty_loaded()
            copies.admin.dispose()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
