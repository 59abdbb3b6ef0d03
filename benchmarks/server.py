"""Capture behind a real server: gunicorn, a realistic route, driven by ``wrk``.

Three apps serve the same route, ``GET /cases?n=<marker>``: one SQLAlchemy query
for 20 rows of a 200-row table (a SQLite file, one engine per worker), rendered
by a Jinja template (``render_template``, compiled once per worker):

* ``bare``: plain Flask with a ``SECRET_KEY``;
* ``floor``: the least work the mission needs, as plain code does it (the
  floor of ``request_overhead.py``): ``Privacy(app)`` with capture off, an
  ``after_request`` hook logging the same ``http.access`` event through the
  same chain and keeping the row; the request that brings the rows to 1,000
  writes them in one multi-row INSERT (the rest at exit);
* ``capture``: the same app with ``Privacy(app)`` (defaults, the ``casenote``
  policy; ``PRIVACY_CAPTURE_QUERY_PARAMS = ["n"]`` so each stored path keeps
  its marker), structlog configured as a production service (JSON lines to
  ``/dev/null``, the privacy processors in the chain).

Each app runs under ``gunicorn -w 2`` (sync workers; ``--worker-threads N``:
gthread workers of N request threads each), once with ``--preload`` and once
without. For each mode the servers are started, warmed up, then
driven alternately (bare, floor, capture, bare, ...) by ``wrk --latency``
for ``--rounds`` runs of ``--duration`` seconds each, so that load from
anything else on the machine falls on both alike. Printed: requests per second,
p50 and p99 latency (medians over the rounds), and capture's (and the floor's)
throughput and p99 latency against bare's in the same round (the runs back to
back), the median over the rounds.

Afterwards each capture server is stopped with SIGTERM (its workers flush at
exit) and every request must have its row: the rows whose path carries a
``wrk`` marker number at least the responses ``wrk`` counted and at most that
plus the connections (requests still in flight when ``wrk`` stopped are served
and stored too), none duplicated, no spool file left. The floor's rows are
counted the same way.

Install wrk from Debian (``apt-get install wrk``); gunicorn comes with the
``test`` extra (``pip install -e '.[test]'``).

    python benchmarks/server.py [--duration 5] [--rounds 3] [--connections 8]
                                [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                [--events both|database|log] [--inline] [--worker-threads 4]
                                [--quick] [--no-check]

Exit status 1 when a target is missed (unless ``--no-check``) or a row is
missing. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THROUGHPUT_MIN_RATIO = 0.95  # capture / bare requests per second
P99_MAX_RATIO = 1.10  # capture / bare p99 latency
FLOOR_BATCH = 1_000  # rows the floor keeps before its one INSERT
VARIANTS = ("bare", "floor", "capture")
SECRET_KEY = "benchmark secret key, not for production"
TEMPLATE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>판례 검색 — {{ title }}</title></head>
<body><h1>{{ title }}</h1>
<table>
<thead><tr><th>사건번호</th><th>법원</th><th>선고일</th><th>요지</th></tr></thead>
<tbody>
{% for case in cases %}<tr><td>{{ case.number }}</td><td>{{ case.court }}</td>
<td>{{ case.decided }}</td><td>{{ case.summary|truncate(80) }}</td></tr>
{% endfor %}</tbody></table>
<p>{{ cases|length }} / {{ total }}</p></body></html>
"""
# Each request carries a marker, stored with its row: /cases?n=r<run>.<thread>.<i>.
WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  prefix = "/cases?n=r" .. args[1] .. "." .. tid .. "."
  counter = 0
end
request = function()
  counter = counter + 1
  return wrk.format("GET", prefix .. counter)
end
"""


# -- the app, built in each gunicorn worker (or once with --preload) ----------------------
def create_app() -> Any:
    """The app gunicorn serves; what it is comes from ``BENCH_*`` environment variables."""
    import structlog
    from flask import Flask, render_template, request
    from jinja2 import DictLoader

    variant = os.environ["BENCH_VARIANT"]
    work = Path(os.environ["BENCH_DIR"])
    app = Flask(f"bench_{variant}", instance_path=str(work / f"instance-{variant}"))
    app.config["SECRET_KEY"] = SECRET_KEY
    app.jinja_loader = DictLoader({"cases.html": TEMPLATE})
    configure_structlog()
    host = create_engine(f"sqlite:///{work / 'host.sqlite'}")
    query = text("SELECT number, court, decided, summary FROM cases ORDER BY decided DESC LIMIT 20 OFFSET :skip")

    @app.get("/cases")
    def cases() -> str:
        skip = sum(map(ord, request.args.get("n", ""))) % 180
        with host.connect() as conn:
            rows = conn.execute(query, {"skip": skip}).mappings().all()
        return render_template("cases.html", title="개인정보 판례", cases=rows, total=200)

    if variant in ("capture", "floor"):
        from flask_casenote_privacy import Privacy

        app.config.update(
            PRIVACY_EXTERNAL_URL="http://127.0.0.1",
            PRIVACY_DATABASE_URI=os.environ["BENCH_PRIVACY_DB"],
            PRIVACY_ARCHIVE_DATABASE_URI=f"sqlite:///{work / 'privacy-archive.sqlite'}",
            PRIVACY_SPOOL_DIR=str(work / "spool"),
            PRIVACY_CAPTURE_QUERY_PARAMS=["n"],
            PRIVACY_CAPTURE=variant == "capture",
        )
        app.config["PRIVACY_WRITER_INLINE"] = os.environ.get("BENCH_INLINE") == "1"
        events = os.environ.get("BENCH_EVENTS")
        if events:
            app.config["PRIVACY_ACCESS_EVENTS"] = events
        Privacy(app)
        if variant == "floor":
            from request_overhead import install_floor

            from flask_casenote_privacy.storage.engines import make_engine

            write = install_floor(
                app, make_engine(make_url(os.environ["BENCH_PRIVACY_DB"])), every=FLOOR_BATCH, query=True
            )
            atexit.register(write)  # a sync worker exits normally on SIGTERM: the rest is written
    structlog.get_logger("bench").debug("app ready")
    return app


def configure_structlog() -> None:
    """A production chain: JSON lines, the privacy processors, written to /dev/null."""
    import structlog

    from flask_casenote_privacy.logging import processors

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *processors(),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=open(os.devnull, "w")),  # noqa: SIM115
        cache_logger_on_first_use=True,
    )


# -- the driver ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_host_database(work: Path) -> None:
    engine = create_engine(f"sqlite:///{work / 'host.sqlite'}")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE cases (id INTEGER PRIMARY KEY, number TEXT, court TEXT, decided TEXT, summary TEXT)")
        )
        conn.execute(
            text("INSERT INTO cases (number, court, decided, summary) VALUES (:number, :court, :decided, :summary)"),
            [
                {
                    "number": f"20{10 + i % 15}다{1000 + i}",
                    "court": ("대법원", "서울고등법원", "서울중앙지방법원")[i % 3],
                    "decided": f"20{10 + i % 15}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "summary": "개인정보 보호법 제21조에 따른 파기 의무와 손해배상 책임의 범위에 관한 판단. " * 2,
                }
                for i in range(200)
            ],
        )
    engine.dispose()


class PrivacyDatabase:
    """The capture app's main database: a SQLite file, or a scratch PostgreSQL
    database on ``server`` (created here, dropped at the end)."""

    def __init__(self, work: Path, server: str | None) -> None:
        self.server = make_url(server) if server else None
        self.name: str | None = None
        if self.server is None:
            self.url: URL = URL.create("sqlite", database=str(work / "privacy.sqlite"))
            return
        self.name = f"privacy_server_bench_{os.getpid()}"
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name}"))
            conn.execute(text(f"CREATE DATABASE {self.name}"))
        admin.dispose()
        self.url = self.server.set(database=self.name)

    def drop(self) -> None:
        if self.server is None or self.name is None:
            return
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": self.name}
            )
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name}"))
        admin.dispose()


class Server:
    """One gunicorn serving one variant."""

    def __init__(
        self, variant: str, preload: bool, env: dict[str, str], work: Path, workers: int, worker_threads: int = 0
    ) -> None:
        self.variant = variant
        self.port = free_port()
        self.log = work / f"gunicorn-{variant}-{'preload' if preload else 'plain'}.log"
        args = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}"]
        args += ["--pythonpath", str(HERE), "--log-level", "warning"]
        if worker_threads:  # gthread: a pool of request threads per worker, beside capture's writer
            args += ["-k", "gthread", "--threads", str(worker_threads)]
        if preload:
            args.append("--preload")
        args.append("server:create_app()")
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env, "BENCH_VARIANT": variant},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def url(self, path: str = "/cases?n=warm") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url(), timeout=2) as response:
                    response.read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.variant} did not answer in time") from None
                time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode or 0)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


_RUNS = iter(range(1, 10**6))


def run_wrk(url: str, seconds: float, connections: int, threads: int, script: Path) -> dict[str, float]:
    """One ``wrk --latency`` run: requests/s, p50 and p99 (ms), responses, errors."""
    run = next(_RUNS)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu)")
    out = subprocess.run(
        [
            wrk,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(run),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"([0-9]+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", out)
    socket_errors = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", out)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(x) for x in socket_errors.groups()[:3])
    return {"rps": rps, "p50": p50, "p99": p99, "done": done, "failed": failed, "run": run}


def against_bare(results: dict[str, list[dict[str, float]]], variant: str, key: str) -> float:
    """``variant``'s figure over bare's, per round (the runs back to back), the median over the rounds."""
    pairs = zip(results["bare"], results[variant], strict=True)
    return statistics.median(c[key] / b[key] for b, c in pairs)


def stored_markers(url: URL, runs: list[int], table: str = "privacy_access_log") -> tuple[int, int]:
    """(rows with a marker of one of ``runs``, distinct markers among them) in ``table``."""
    engine = create_engine(url)
    rows = distinct = 0
    with engine.connect() as conn:
        for run in runs:
            n, d = conn.execute(
                text(f"SELECT COUNT(*), COUNT(DISTINCT path) FROM {table} WHERE path LIKE :p"),
                {"p": f"/cases?n=r{run}.%"},
            ).one()
            rows, distinct = rows + int(n), distinct + int(d)
    engine.dispose()
    return rows, distinct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per app and mode (interleaved)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-threads", type=int, default=0, metavar="N", help="gthread workers of N request threads (0: sync)"
    )
    parser.add_argument("--modes", default="preload,plain", help="comma-separated: preload, plain")
    parser.add_argument("--events", choices=("both", "database", "log"), help="PRIVACY_ACCESS_EVENTS of capture")
    parser.add_argument("--inline", action="store_true", help="PRIVACY_WRITER_INLINE = True for capture")
    parser.add_argument("--database-url", help="a PostgreSQL server URL: capture's database is a scratch one on it")
    parser.add_argument("--quick", action="store_true", help="1 s runs, 1 round, plain mode only (a smoke run)")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.modes = 1.0, 1, "plain"
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    tmp = tempfile.TemporaryDirectory(prefix="privacy-server-bench-")
    work = Path(tmp.name)
    script = work / "markers.lua"
    script.write_text(WRK_SCRIPT)
    make_host_database(work)
    database = PrivacyDatabase(work, args.database_url)
    env = {"BENCH_DIR": str(work), "BENCH_PRIVACY_DB": database.url.render_as_string(hide_password=False)}
    if args.events:
        env["BENCH_EVENTS"] = args.events
    if args.inline:
        env["BENCH_INLINE"] = "1"
    try:
        # The schema once, as a deploy's `flask privacy db upgrade` would.
        os.environ.update({**env, "BENCH_VARIANT": "capture"})
        app = create_app()
        with app.app_context():
            app.extensions["privacy"].upgrade()
            app.extensions["privacy"].close()
        from request_overhead import floor_log

        engine = create_engine(database.url)
        floor_log.create(engine)
        engine.dispose()

        workers = f"gthread workers of {args.worker_threads} threads" if args.worker_threads else "sync workers"
        print(
            f"flask-casenote-privacy behind gunicorn: GET /cases (one query, 20 rows, Jinja), "
            f"{args.workers} {workers}, wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s "
            f"x {args.rounds} rounds per app, interleaved; capture database {database.url.get_backend_name()}, "
            f"access events to {args.events or 'both (default)'}, inline writes {args.inline}"
        )
        print(
            f"Python {platform.python_version()}, gunicorn {version('gunicorn')}, Flask {version('flask')}, "
            f"SQLAlchemy {version('sqlalchemy')}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        checks: list[tuple[str, str, str, bool | None]] = []  # None: a figure, not a target
        table: list[str] = []
        for mode in modes:
            preload = mode == "preload"
            servers = {v: Server(v, preload, env, work, args.workers, args.worker_threads) for v in VARIANTS}
            try:
                for server in servers.values():
                    server.wait()
                for server in servers.values():  # warm-up: every worker imports, compiles, connects
                    run_wrk(server.url(), 1.0, args.connections, args.threads, script)
                results: dict[str, list[dict[str, float]]] = {v: [] for v in servers}
                for _ in range(args.rounds):
                    for variant, server in servers.items():
                        results[variant].append(
                            run_wrk(server.url(), args.duration, args.connections, args.threads, script)
                        )
            finally:
                codes = {v: s.stop() for v, s in servers.items()}
            med = {
                v: {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
                for v, runs in results.items()
            }
            for variant in servers:
                runs = results[variant]
                table.append(
                    f"| {mode} | {variant} | {med[variant]['rps']:,.0f} "
                    f"({min(r['rps'] for r in runs):,.0f}–{max(r['rps'] for r in runs):,.0f}) "
                    f"| {med[variant]['p50']:.2f} | {med[variant]['p99']:.2f} | {sum(int(r['done']) for r in runs):,} |"
                )

            ratio, p99_ratio = against_bare(results, "capture", "rps"), against_bare(results, "capture", "p99")
            floor_ratio, floor_p99 = against_bare(results, "floor", "rps"), against_bare(results, "floor", "p99")
            # What capture costs beyond the least the mission needs, as a share of bare.
            beyond = statistics.median(
                (f["rps"] - c["rps"]) / b["rps"]
                for b, f, c in zip(results["bare"], results["floor"], results["capture"], strict=True)
            )
            checks.append(
                (
                    f"{mode}: capture / bare throughput",
                    f"{ratio:.3f}",
                    f"≥ {THROUGHPUT_MIN_RATIO}",
                    ratio >= THROUGHPUT_MIN_RATIO,
                )
            )
            checks.append(
                (
                    f"{mode}: capture / bare p99 latency",
                    f"{p99_ratio:.3f}",
                    f"≤ {P99_MAX_RATIO}",
                    p99_ratio <= P99_MAX_RATIO,
                )
            )
            info = f"{mode}: floor / bare throughput (p99), for reference"
            checks.append((info, f"{floor_ratio:.3f} ({floor_p99:.3f})", "the least the mission costs", None))
            checks.append(
                (f"{mode}: (floor − capture) / bare throughput", f"{beyond:+.3f}", "capture beyond the floor", None)
            )
            failed = sum(int(r["failed"]) for runs in results.values() for r in runs)
            checks.append((f"{mode}: failed responses", str(failed), "= 0", failed == 0))
            checks.append(
                (f"{mode}: gunicorn exit codes", str(sorted(codes.values())), "= 0", set(codes.values()) == {0})
            )
            stored = [("floor", floor_log.name)]
            if (args.events or "both") != "log":
                stored.insert(0, ("capture", "privacy_access_log"))
            for variant, table_name in stored:
                runs = [int(r["run"]) for r in results[variant]]
                rows, distinct = stored_markers(database.url, runs, table_name)
                answered = sum(int(r["done"]) for r in results[variant])
                slack = args.connections * len(results[variant])
                ok = answered <= rows <= answered + slack and distinct == rows
                checks.append(
                    (
                        f"{mode}: {variant} rows stored (distinct) / responses counted by wrk",
                        f"{rows:,} ({distinct:,}) / {answered:,}",
                        f"responses ≤ rows ≤ responses + {slack} in flight, none duplicated",
                        ok,
                    )
                )
        spool = [p for p in (work / "spool").glob("*") if p.stat().st_size] if (work / "spool").exists() else []
        checks.append(("spool files left", str(len(spool)), "= 0", not spool))

        print()
        print("| mode | app | requests/s, median (min–max) | p50 ms | p99 ms | responses |")
        print("|---|---|---:|---:|---:|---:|")
        print("\n".join(table))
        print()
        print("| check | value | target | result |")
        print("|---|---:|---|---|")
        for label, value, target, ok in checks:
            print(f"| {label} | {value} | {target} | {'—' if ok is None else 'PASS' if ok else 'FAIL'} |")
        print(f"load average after the run: {os.getloadavg()[0]:.1f}")
        failed_checks = [label for label, _, _, ok in checks if ok is False]
        if failed_checks:
            print(f"\nFAIL: {', '.join(failed_checks)}")
            rows_missed = any("rows stored" in label or "spool" in label for label in failed_checks)
            return 1 if rows_missed or not args.no_check else 0
        print("\nall targets met")
        return 0
    finally:
        database.drop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
