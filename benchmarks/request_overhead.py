"""Per-request overhead of capture, against a bare route and a naive insert.

One run measures, in this process and with the same request:

* ``bare``: a Flask route ``GET /search`` returning a short string;
* ``capture``: the same route with ``Privacy(app)`` capturing every request
  (consent decision, structlog ``http.access`` event through the privacy
  processors and a JSON renderer to a null sink, the buffered writer), the
  timed region ending with ``privacy.flush()`` so every row is durable;
* ``capture+consent``: as ``capture``, with a consent cookie granting the
  optional purposes, so device information is parsed and stored too;
* ``floor``: the work capture cannot avoid, done as cheaply as plain code can:
  an app with ``Privacy(app)`` but capture off, whose ``after_request`` hook
  logs the same structlog ``http.access`` event (same fields) through the same
  host chain with the privacy processors and appends the row to a list; one
  multi-row INSERT per 1,000 requests, inside the timed region;
* ``naive``: the bare route plus an ``after_request`` hook that INSERTs one
  row per request into an identical table in its own transaction.

Costs are compared as **added costs** (µs over ``bare``): capture's added cost
against the floor's, and the naive insert's against capture's.

Each measurement is repeated for a few interleaved rounds and the median is
reported. Then ``--memory-requests`` requests go through ``capture`` while the
resident set size is sampled, and the rows are counted (nothing dropped).

Exit status 1 when a target is missed (unless ``--no-check``). See
docs/benchmarks.md.

    python benchmarks/request_overhead.py [--requests 20000] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import flask
import structlog
from flask import Flask, Response
from sqlalchemy import Engine, MetaData, func, insert, select
from sqlalchemy.engine import make_url

from flask_casenote_privacy import Privacy
from flask_casenote_privacy.capture.hooks import parse_device
from flask_casenote_privacy.storage.engines import make_engine
from flask_casenote_privacy.storage.tables import access_log

try:  # written alongside this benchmark; without it the chain has no privacy processors
    from flask_casenote_privacy.logging import processors as privacy_processors
except ImportError:  # pragma: no cover
    privacy_processors = None

PATH = "/search?q=contract+law&page=2"
HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    ),
    "Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8",
}
CAPTURE_MAX_RATIO = 1.25  # capture's added cost / the floor's
NAIVE_MIN_RATIO = 5.0  # the naive insert's added cost / capture's
FLAT_MAX_GROWTH_MB = 10.0
CHUNK = 1_000  # requests per variant before switching to the next one (the floor's INSERT size)
SECRET_KEY = "benchmark secret key, not for production"

# An identical table for the naive variant, so its rows never mix with capture's.
naive_metadata = MetaData()
naive_log = access_log.to_metadata(naive_metadata, name="bench_naive_access_log")
floor_log = access_log.to_metadata(naive_metadata, name="bench_floor_access_log")
for _table, _prefix in ((naive_log, "bench_naive_"), (floor_log, "bench_floor_")):
    for _index in _table.indexes:  # index names are per database, not per table
        if isinstance(_index.name, str) and _table.name not in _index.name:
            _index.name = _prefix + _index.name


def search() -> str:
    return "results for your query"


def bare_app(name: str = "bench_bare") -> Flask:
    """A bare Flask app. It has a SECRET_KEY, as every app using the extension must,
    so Flask's session handling costs the same in all variants."""
    app = Flask(name)
    app.config["SECRET_KEY"] = SECRET_KEY
    app.add_url_rule("/search", view_func=search)
    return app


def capture_app(
    database_url: str,
    archive_url: str,
    instance: Path,
    events: str = "both",
    inline: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> tuple[Flask, Privacy]:
    app = Flask(f"bench_capture_{events}", instance_path=str(instance))
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        PRIVACY_EXTERNAL_URL="http://127.0.0.1",
        PRIVACY_DATABASE_URI=database_url,
        PRIVACY_ARCHIVE_DATABASE_URI=archive_url,
        PRIVACY_SPOOL_DIR=str(instance / "spool"),
        PRIVACY_ACCESS_EVENTS=events,
        PRIVACY_WRITER_INLINE=inline,
    )
    app.add_url_rule("/search", view_func=search)
    privacy = Privacy(app, clock=clock)
    with app.app_context():
        privacy.upgrade()
    return app, privacy


def _seeded_ids() -> itertools.count[int]:
    return itertools.count(int.from_bytes(os.urandom(8), "big") << 20)


# Both floors write to one table, and so do a server's forked workers: each process
# counts from its own random start.
_FLOOR_IDS = [_seeded_ids()]
os.register_at_fork(after_in_child=lambda: _FLOOR_IDS.__setitem__(0, _seeded_ids()))


def rows_template(device: bool) -> tuple[str, ...]:
    """The columns of a floor row."""
    names = ("event_id", "occurred_at", "retention", "expires_at", "subject", "ip", "method", "path")
    names += ("status", "duration_ms", "purposes")
    return names + (("user_agent", "device_family", "os_family", "browser_family") if device else ())


def floor_app(
    engine: Engine, database_url: str, archive_url: str, instance: Path, *, device: bool = False
) -> tuple[Flask, Callable[[], None]]:
    """The floor: the access event and the row, with nothing else. ``Privacy(app)``
    with capture off, so the privacy processors keep the fields that need no
    consent (as they do for capture's event); the rows go in one multi-row INSERT
    by the returned function, called after every chunk of 1,000 requests. With
    ``device``, the User-Agent and its parsed families go in the row and the event
    too (as for ``capture+consent``; in an app without capture the processors drop
    them from the log line, since no consent is known there)."""
    app = Flask("bench_floor_device" if device else "bench_floor", instance_path=str(instance))
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        PRIVACY_EXTERNAL_URL="http://127.0.0.1",
        PRIVACY_DATABASE_URI=database_url,
        PRIVACY_ARCHIVE_DATABASE_URI=archive_url,
        PRIVACY_SPOOL_DIR=str(instance / "spool"),
        PRIVACY_CAPTURE=False,
    )
    app.add_url_rule("/search", view_func=search)
    Privacy(app)
    return app, install_floor(app, engine, device=device)


def install_floor(
    app: Flask, engine: Engine, *, device: bool = False, every: int | None = None, query: bool = False
) -> Callable[[], None]:
    """The floor's hooks on ``app`` (which has ``Privacy(app)`` with capture off):
    the event and the row per request. Returns the function that writes the rows
    kept so far in one multi-row INSERT; with ``every``, the request that brings
    them to that many calls it itself (as plain code in a server would). With
    ``query``, the stored and logged path keeps the query string."""
    logger = structlog.get_logger("bench.floor")
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()  # a threaded server's request threads share ``rows``
    purposes = ["security", "user_protection"]

    @app.before_request
    def started() -> None:
        flask.g.started = time.perf_counter()

    @app.after_request
    def log_row(response: Response) -> Response:
        req = flask.request
        now = datetime.now(timezone.utc)
        expires = now + timedelta(days=92)
        n = next(_FLOOR_IDS[0])  # an id shaped like capture's (never nine digits in a row)
        event_id = f"{n >> 84:08x}a{(n >> 52) & 0xFFFFFFFF:08x}b{(n >> 20) & 0xFFFFFFFF:08x}c{n & 0xFFFFF:05x}"
        duration = round((time.perf_counter() - flask.g.started) * 1000.0, 3)
        path = req.full_path if query else req.path
        extra: dict[str, Any] = {}
        if device:
            agent = req.environ.get("HTTP_USER_AGENT", "")
            extra = {"user_agent": agent, **parse_device(agent)}
        logger.info(
            "http.access",
            **extra,
            retention="access_log",
            retention_until=expires.isoformat(),
            purposes=purposes,
            event_id=event_id,
            subject=None,
            ip=req.remote_addr,
            method=req.method,
            path=path,
            status=response.status_code,
            duration_ms=duration,
        )
        row = {
            "event_id": event_id,
            "occurred_at": now,
            "retention": "access_log",
            "expires_at": expires,
            "subject": None,
            "ip": req.remote_addr,
            "method": req.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration,
            "purposes": "security,user_protection",
            **extra,
        }
        with lock:
            rows.append(row)
            full = every is not None and len(rows) >= every
        if full:
            write()
        return response

    columns = list(rows_template(device))
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    as_text = engine.dialect.name == "sqlite"
    one_row_many = engine.dialect.driver == "psycopg"

    def write() -> None:
        # Plain code's cheapest multi-row INSERT: one statement, straight to the driver.
        with lock:
            batch = rows[:]
            rows.clear()
        if not batch:
            return
        params: list[Any] = []
        for row in batch:
            for name in columns:
                value = row[name]
                if isinstance(value, datetime):
                    value = value.replace(tzinfo=None)
                    if as_text:
                        value = str(value)
                params.append(value)
        one = "(" + ", ".join([mark] * len(columns)) + ")"
        head = f"INSERT INTO {floor_log.name} ({', '.join(columns)}) VALUES "
        with engine.begin() as conn:
            if one_row_many:
                # psycopg 3 re-parses a long statement's placeholders on every execute
                # (~70 µs a row for 1,000 rows): one row's INSERT through executemany,
                # one pipeline, is its cheapest multi-row insert (as capture's writer does).
                width = len(columns)
                conn.exec_driver_sql(head + one, [tuple(params[i : i + width]) for i in range(0, len(params), width)])
            else:
                conn.exec_driver_sql(head + ", ".join([one] * len(batch)), tuple(params))

    return write


def naive_app(engine: Engine) -> Flask:
    """The honest naive approach: one INSERT, in its own transaction, per request."""
    app = bare_app("bench_naive")

    @app.before_request
    def started() -> None:
        flask.g.started = time.perf_counter()

    @app.after_request
    def insert_row(response: Response) -> Response:
        now = datetime.now(timezone.utc)
        row = {
            "event_id": uuid.uuid4().hex,
            "occurred_at": now,
            "retention": "access_log",
            "expires_at": now + timedelta(days=92),
            "subject": None,
            "ip": flask.request.remote_addr,
            "method": flask.request.method,
            "path": flask.request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - flask.g.started) * 1000.0, 3),
            "user_agent": None,
            "device_family": None,
            "os_family": None,
            "browser_family": None,
            "cookies": None,
            "purposes": "security,user_protection",
        }
        with engine.begin() as conn:
            conn.execute(insert(naive_log), row)
        return response

    return app


def configure_structlog(sink: Any) -> None:
    """A realistic production chain, rendered as JSON into a null sink."""
    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if privacy_processors is not None:
        chain += privacy_processors()
    chain.append(structlog.processors.JSONRenderer())
    structlog.configure(
        processors=chain,
        logger_factory=structlog.PrintLoggerFactory(file=sink),
        cache_logger_on_first_use=True,
    )


def rss_mb() -> float:
    """Current resident set size, in MiB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak is the best we have
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def count_rows(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def timed(client: Any, n: int, after: Callable[[], Any] | None = None) -> float:
    """Microseconds per request for ``n`` requests (``after`` inside the timed region)."""
    get = client.get
    started = time.perf_counter()
    for _ in range(n):
        response = get(PATH, headers=HEADERS)
        if response.status_code != 200:
            raise SystemExit(f"unexpected status {response.status_code}")
    if after is not None:
        after()
    return (time.perf_counter() - started) / n * 1e6


_SERVER_PROCESSES = {"postgresql": ("postgres",), "mysql": ("mariadbd", "mysqld"), "mariadb": ("mariadbd", "mysqld")}


def server_cpu_reader(url: str | None) -> tuple[Callable[[], float], str]:
    """A function returning the CPU seconds used so far by the database server's
    processes on this machine (0 for SQLite, which runs in this process, and for a
    server elsewhere), and what it counts, for the header. Read from each task's
    ``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds: ``stat``'s ticks are 10 ms,
    too coarse for a chunk); on PostgreSQL only the backends of this database. A task
    counts while it lives: what one uses after the last reading before it exits is
    lost (the benchmark's backends are pooled, alive from start to end)."""
    if url is None:
        return (lambda: 0.0), "SQLite runs in this process"
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    names = _SERVER_PROCESSES.get(backend)
    if names is None or parsed.host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return (lambda: 0.0), "the database server's CPU is not counted (not on this machine)"
    # A backend's command line: "postgres: <user> <database> <client> <state>".
    marker = f" {parsed.database} ".encode() if backend == "postgresql" else b""

    seen: dict[str, int] = {}  # task -> its CPU ns at the last reading
    total = [0]

    def read() -> float:
        # Monotonic: each task adds what it used since the last reading (a new one, all
        # it used), so a backend that exits between two readings takes nothing back.
        now: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if not (entry / "comm").read_text().strip().startswith(names):
                    continue
                if marker and marker not in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    continue
                for task in (entry / "task").iterdir():
                    now[f"{entry.name}/{task.name}"] = int((task / "schedstat").read_text().split()[0])
            except OSError:  # gone meanwhile
                continue
        # (a reused task id starts again from 0: all it used is new)
        total[0] += sum(ns - seen.get(task, 0) if ns >= seen.get(task, 0) else ns for task, ns in now.items())
        seen.clear()
        seen.update(now)
        return total[0] / 1e9

    counted = f"{parsed.database}'s backends" if marker else "/".join(names)
    return read, f"plus the local server's CPU ({counted}: its work for each variant)"


_server_cpu: list[Callable[[], float]] = [lambda: 0.0]


def timed_cpu(client: Any, n: int, after: Callable[[], Any] | None = None) -> tuple[float, float]:
    """Wall and CPU microseconds per request (CPU: the whole process, every thread,
    plus a local database server's processes)."""
    server = _server_cpu[0]
    started, server_started = time.process_time(), server()
    wall = timed(client, n, after)
    return wall, (time.process_time() - started + server() - server_started) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per variant per round")
    parser.add_argument("--memory-requests", type=int, default=100_000, help="requests for the memory check")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median is reported")
    parser.add_argument("--database-url", help="main database (default: a SQLite file in a temp dir)")
    parser.add_argument("--quick", action="store_true", help="2,000 requests, 3 rounds, 10,000 for memory")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="which added costs the checks compare (default cpu: robust when other jobs share the CPUs)",
    )
    parser.add_argument("--inline", action="store_true", help="PRIVACY_WRITER_INLINE = True for capture")
    parser.add_argument(
        "--no-events", dest="events", action="store_false", help="skip the database-only and log-only variants"
    )
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile N capture requests and print it")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.rounds, args.memory_requests = 2_000, 3, 10_000

    tmp = tempfile.TemporaryDirectory(prefix="privacy-bench-")
    base = Path(tmp.name)
    database_url = args.database_url or f"sqlite:///{base / 'privacy.sqlite'}"
    archive_url = f"sqlite:///{base / 'privacy-archive.sqlite'}"
    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    configure_structlog(sink)

    app_capture, privacy = capture_app(database_url, archive_url, base / "instance", inline=args.inline)
    with app_capture.app_context():
        engine = privacy.services.databases.main
        consent_value = privacy.services.consent_cookie.dumps(
            privacy.policy, {"service_improvement": True, "statistics_advertising": True}
        )
        cookie_name = privacy.services.consent_cookie.name
        flush = privacy.flush
        naive_engine = make_engine(engine.url)
        naive_metadata.drop_all(naive_engine)
        naive_metadata.create_all(naive_engine)
        captured_before = count_rows(engine, access_log)

    floor, floor_write = floor_app(naive_engine, database_url, archive_url, base / "floor")
    floor_consent, floor_consent_write = floor_app(
        naive_engine, database_url, archive_url, base / "floor-device", device=True
    )
    app_database, privacy_database = capture_app(
        database_url, archive_url, base / "database", "database", inline=args.inline
    )
    app_log, _ = capture_app(database_url, archive_url, base / "log", "log")
    client_capture = app_capture.test_client()
    client_consent = app_capture.test_client()
    client_consent.set_cookie(cookie_name, consent_value)
    variants: dict[str, tuple[Any, Callable[[], Any] | None]] = {
        "bare": (bare_app().test_client(), None),
        "floor": (floor.test_client(), floor_write),
        "capture": (client_capture, flush),
        "floor+consent": (floor_consent.test_client(), floor_consent_write),
        "capture+consent": (client_consent, flush),
        "naive": (naive_app(naive_engine).test_client(), None),
    }
    if args.events:  # where access events go: the row only, the log line only
        variants["capture, database only"] = (app_database.test_client(), privacy_database.flush)
        variants["capture, log only"] = (app_log.test_client(), None)

    try:
        if args.profile:
            return profile(client_capture, client_consent, flush, args.profile)

        print(
            f"flask-casenote-privacy request overhead: {args.requests:,} requests x {args.rounds} rounds, "
            f"database {engine.url.get_backend_name()}"
        )
        print(
            f"Python {platform.python_version()}, Flask {version('flask')}, "
            f"SQLAlchemy {version('sqlalchemy')}, structlog {version('structlog')}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, privacy log processors "
            f"{'on' if privacy_processors is not None else 'MISSING'}, access events to "
            f"{app_capture.config.get('PRIVACY_ACCESS_EVENTS', 'both')}, inline writes {args.inline}",
        )
        _server_cpu[0], counted = server_cpu_reader(args.database_url)
        print(f"CPU time: this process's (every thread), {counted}", flush=True)
        warm = min(1_000, args.requests)
        for client, after in variants.values():
            timed(client, warm, after)

        # Each round interleaves the variants in chunks, so that noise from anything
        # else on the machine falls on all of them alike; capture flushes per chunk,
        # the floor writes its chunk's rows. Wall and CPU time (the process's, so the
        # writer thread's work counts) per chunk; a variant's added cost is the median
        # over the chunk cycles of (variant - bare) in the same cycle.
        samples: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        full, rest = divmod(args.requests, CHUNK)
        chunks = [CHUNK] * full + ([rest] if rest else [])
        for _ in range(args.rounds):
            for size in chunks:
                for name, (client, after) in variants.items():
                    wall_us, cpu_us = timed_cpu(client, size, after)
                    samples[name].append(wall_us)
                    cpu[name].append(cpu_us)
        us = {name: statistics.median(values) for name, values in samples.items()}
        cpu_us = {name: statistics.median(values) for name, values in cpu.items()}
        added = {
            name: statistics.median(v - b for v, b in zip(values, samples["bare"], strict=True))
            for name, values in samples.items()
        }
        added_cpu = {
            name: statistics.median(v - b for v, b in zip(values, cpu["bare"], strict=True))
            for name, values in cpu.items()
        }
        checked = added_cpu if args.clock == "cpu" else added

        with app_capture.app_context():
            captured = count_rows(engine, access_log) - captured_before
        expected_captured = (warm + args.requests * args.rounds) * (3 if args.events else 2)
        naive_rows = count_rows(naive_engine, naive_log)
        floor_rows = count_rows(naive_engine, floor_log)

        print()
        print(
            f"| variant | wall µs/request | 10th–90th percentile of {len(samples['bare'])} chunks "
            "| added wall µs | × bare (wall) | CPU µs/request | added CPU µs | × bare (CPU) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, values in samples.items():
            deciles = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
            print(
                f"| {name} | {us[name]:.1f} | {deciles[0]:.1f}–{deciles[-1]:.1f} "
                f"| {added[name]:+.1f} | {us[name] / us['bare']:.2f} "
                f"| {cpu_us[name]:.1f} | {added_cpu[name]:+.1f} | {cpu_us[name] / cpu_us['bare']:.2f} |"
            )
        print(f"checks on {args.clock} time (--clock)")

        checks: list[tuple[str, float, str, bool]] = []
        other = "wall" if args.clock == "cpu" else "cpu"
        unchecked = added if args.clock == "cpu" else added_cpu
        for name, floor_name in (("capture", "floor"), ("capture+consent", "floor+consent")):
            ratio = checked[name] / checked[floor_name]
            label = f"added cost: {name} / {floor_name} ({other} time: {unchecked[name] / unchecked[floor_name]:.2f})"
            checks.append((label, ratio, f"≤ {CAPTURE_MAX_RATIO}", ratio <= CAPTURE_MAX_RATIO))
        for name in ("capture", "capture+consent"):
            ratio = checked["naive"] / checked[name]
            label = f"added cost: naive / {name} ({other} time: {unchecked['naive'] / unchecked[name]:.2f})"
            checks.append((label, ratio, f"≥ {NAIVE_MIN_RATIO}", ratio >= NAIVE_MIN_RATIO))
        checks.append(
            (
                "capture rows written / requests",
                captured / expected_captured,
                "= 1",
                captured == expected_captured,
            )
        )
        expected_floor = (warm + args.requests * args.rounds) * 2
        checks.append(
            ("floor rows written / requests", floor_rows / expected_floor, "= 1", floor_rows == expected_floor)
        )

        if args.memory_requests:
            growth, mem_line, mem_rows_ok = memory_check(
                app_capture, client_capture, flush, engine, args.memory_requests
            )
            checks.append(
                (
                    f"RSS growth 10%→100% of {args.memory_requests:,} requests (MiB)",
                    growth,
                    f"< {FLAT_MAX_GROWTH_MB:g}",
                    growth < FLAT_MAX_GROWTH_MB,
                )
            )
            checks.append(mem_rows_ok)

        print()
        print("| check | value | target | result |")
        print("|---|---:|---|---|")
        for label, value, target, ok in checks:
            print(f"| {label} | {value:.2f} | {target} | {'PASS' if ok else 'FAIL'} |")
        if args.memory_requests:
            print()
            print(mem_line)
        print(f"naive rows written: {naive_rows:,}; floor rows: {floor_rows:,}; capture rows written: {captured:,}")
        failed = [label for label, _, _, ok in checks if not ok]
        if failed:
            print(f"\nFAIL: {', '.join(failed)}")
            return 0 if args.no_check else 1
        print("\nall targets met")
        return 0
    finally:
        privacy.flush(timeout=60)
        privacy_database.flush(timeout=60)
        with naive_engine.begin() as conn:
            naive_log.drop(conn)
            floor_log.drop(conn)
        naive_engine.dispose()
        with app_capture.app_context():
            privacy.services.databases.dispose()
        sink.close()
        tmp.cleanup()


def memory_check(
    app: Flask, client: Any, flush: Callable[[], Any], engine: Engine, n: int
) -> tuple[float, str, tuple[str, float, str, bool]]:
    """Run ``n`` capture requests, sampling RSS at 10%, 50% and 100%; count the rows."""
    with app.app_context():
        before = count_rows(engine, access_log)
    marks = {max(1, n // 10): "10%", max(1, n // 2): "50%", n: "100%"}
    samples: dict[str, float] = {}
    get = client.get
    started = time.perf_counter()
    for i in range(1, n + 1):
        get(PATH, headers=HEADERS)
        if i in marks:
            flush()
            samples[marks[i]] = rss_mb()
    elapsed = time.perf_counter() - started
    with app.app_context():
        written = count_rows(engine, access_log) - before
    growth = samples["100%"] - samples["10%"]
    line = (
        f"memory: {n:,} capture requests in {elapsed:.1f} s; RSS "
        + ", ".join(f"{k} {v:.1f} MiB" for k, v in samples.items())
        + f"; rows written {written:,} of {n:,}"
    )
    return growth, line, (f"rows written / {n:,} memory requests", written / n, "= 1", written == n)


def profile(client: Any, client_consent: Any, flush: Callable[[], Any], n: int) -> int:
    """Where capture's time goes: cProfile of ``n`` requests per capture variant."""
    import cProfile
    import pstats

    timed(client, 1_000, flush)
    timed(client_consent, 1_000, flush)
    for label, c in (("capture (anonymous)", client), ("capture+consent", client_consent)):
        profiler = cProfile.Profile()
        profiler.enable()
        timed(c, n, flush)
        profiler.disable()
        print(f"\n=== {label}: {n:,} requests, by cumulative time ===")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        print(f"\n=== {label}: by own time ===")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
