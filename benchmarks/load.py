"""Load: the Casenote demo under gunicorn, every request's access event accounted for.

One run starts the demo with real gunicorn on loopback,

    python -m gunicorn -w 4 --max-requests 2500 --max-requests-jitter 200 \\
        -b 127.0.0.1:<port> "examples.casenote_demo:create_app({...})"

(cwd = the repository root; the only config given to the factory is
``PRIVACY_CAPTURE_QUERY_PARAMS = ["n"]``, so that the stored path keeps the
request's marker), its demo and privacy databases on SQLite files in a temp dir,
or on two scratch PostgreSQL databases created on ``--database-url``'s server
(and dropped at the end). The schema is made once before gunicorn starts
(``create_app()`` in a subprocess, the "migrate on deploy" step), so that the
workers do not race to create it.

C client threads (http.client, one connection each, reopened when a sync
worker closes it) send N GET requests, each with a unique marker ``i``:

    /search?q=<term>&n=<i>   /cases/<1..8>?n=<i>   /?n=<i>   (200, the demo's pages)
    /load/<i>                                        (404: no such route, still captured)

Workers are recycled mid-run by ``--max-requests`` (counted from gunicorn's
"Autorestarting worker" lines). After the last response the server gets
SIGTERM and exits; then the main database must hold exactly one access event
per marker: zero lost, none duplicated, no spool file left. Printed: requests,
errors, throughput, latency percentiles, recycles, lost, duplicated. Exit
status 1 on any miss. See docs/reliability.md.

    python benchmarks/load.py [--requests 20000] [--clients 16] [--workers 4]
                              [--max-requests 2500] [--max-requests-jitter 200]
                              [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                              [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
FACTORY = "examples.casenote_demo:create_app({'PRIVACY_CAPTURE_QUERY_PARAMS': ['n']})"
TERMS = ["개인정보", "계약", "손해배상", "2023", "law"]
MARKER = re.compile(r"^/load/(\d+)$|[?&]n=(\d+)(?:&|$)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def target(i: int) -> str:
    """The path of request ``i``: a demo page or a 404, always with the marker ``i``."""
    kind = i % 4
    if kind == 0:
        return f"/search?q={quote(TERMS[i % len(TERMS)])}&n={i}"
    if kind == 1:
        return f"/cases/{1 + i % 8}?n={i}"
    if kind == 2:
        return f"/?n={i}"
    return f"/load/{i}"


def marker(path: str | None) -> int | None:
    m = MARKER.search(path or "")
    if m is None:
        return None
    return int(m.group(1) or m.group(2))


class Databases:
    """The demo's and the extension's databases for one run: SQLite files in
    ``tmp``, or two scratch PostgreSQL databases on ``server``."""

    def __init__(self, tmp: Path, server: str | None) -> None:
        self.server = make_url(server) if server else None
        self.names: list[str] = []
        if self.server is None:
            self.main = URL.create("sqlite", database=str(tmp / "privacy.sqlite"))
            self.archive = URL.create("sqlite", database=str(tmp / "privacy-archive.sqlite"))
            self.demo = URL.create("sqlite", database=str(tmp / "demo.sqlite"))
            return
        suffix = f"{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        self.names = [f"privacy_load_main_{suffix}", f"privacy_load_archive_{suffix}"]
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.names:
                conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        self.main = self.server.set(database=self.names[0])
        self.archive = self.server.set(database=self.names[1])
        self.demo = self.main  # the demo's tables next to the extension's (all of those are privacy_*)

    @property
    def backend(self) -> str:
        return self.main.get_backend_name()

    def drop(self) -> None:
        if self.server is None or not self.names:
            return
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.names:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()


class Clients:
    """C threads sending requests 0..N-1 (each taken once from a shared counter)."""

    def __init__(self, port: int, requests: int, clients: int, deadline: float) -> None:
        self.port = port
        self.requests = requests
        self.clients = clients
        self.deadline = deadline
        self._next = iter(range(requests))
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.errors: list[tuple[int, str]] = []
        self.latencies: list[float] = []
        self.answered: set[int] = set()

    def take(self) -> int | None:
        with self._lock:
            return next(self._next, None)

    def run(self) -> float:
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, self.deadline - time.monotonic() + 15))
        return time.perf_counter() - started

    def _client(self) -> None:
        conn: http.client.HTTPConnection | None = None
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        answered: list[int] = []
        errors: list[tuple[int, str]] = []
        try:
            while time.monotonic() < self.deadline:
                i = self.take()
                if i is None:
                    break
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                t0 = time.perf_counter()
                try:
                    conn.request("GET", target(i), headers={"User-Agent": "casenote-load/1"})
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    # Never retried: a retry could record the marker twice.
                    errors.append((i, repr(exc)))
                    conn.close()
                    conn = None
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[response.status] += 1
                answered.append(i)
                if response.will_close:
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()
            with self._lock:
                self.statuses.update(statuses)
                self.latencies.extend(latencies)
                self.answered.update(answered)
                self.errors.extend(errors)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def wait_for(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/privacy/policy.json")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("gunicorn did not answer in time")
        time.sleep(0.1)


def run(
    *,
    requests: int = 20_000,
    clients: int = 16,
    workers: int = 4,
    max_requests: int = 2500,
    jitter: int = 200,
    database_url: str | None = None,
    timeout: float = 600.0,
    keep: bool = False,
) -> dict[str, Any]:
    """One load run; returns its figures (``ok`` is False on any miss)."""
    tmp = Path(tempfile.mkdtemp(prefix="privacy-load-"))
    dbs = Databases(tmp, database_url)
    spool = tmp / "spool"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p),
        "DEMO_DATABASE_URI": dbs.demo.render_as_string(hide_password=False),
        "PRIVACY_DATABASE_URI": dbs.main.render_as_string(hide_password=False),
        "PRIVACY_ARCHIVE_DATABASE_URI": dbs.archive.render_as_string(hide_password=False),
        "PRIVACY_SPOOL_DIR": str(spool),
        "SECRET_KEY": "load-test-secret-not-for-production",
        "PRIVACY_EXTERNAL_URL": "http://127.0.0.1",
    }
    log_path = tmp / "gunicorn.log"
    result: dict[str, Any] = {"backend": dbs.backend, "requests": requests, "clients": clients, "workers": workers}
    try:
        # The schema, once (what `flask privacy db upgrade` does on a deploy).
        init = "from examples.casenote_demo.app import create_app; create_app({'PRIVACY_CAPTURE_QUERY_PARAMS': ['n']})"
        subprocess.run([sys.executable, "-c", init], cwd=ROOT, env=env, check=True, timeout=120)
        port = free_port()
        args = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--max-requests", str(max_requests)]
        args += ["--max-requests-jitter", str(jitter), "--graceful-timeout", "30", "-b", f"127.0.0.1:{port}", FACTORY]
        with open(log_path, "wb") as log_file:
            # stdout: the demo's structlog "http.access" lines (one per request); not needed here.
            server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            wait_for(port, server, log_path, 60)
            driver = Clients(port, requests, clients, time.monotonic() + timeout)
            elapsed = driver.run()
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log = log_path.read_text(errors="replace")
        result["server_exit"] = server.returncode
        result["recycled"] = log.count("Autorestarting worker")
        result["booted"] = log.count("Booting worker")
        result["elapsed_s"] = round(elapsed, 2)
        result["answered"] = len(driver.answered)
        result["errors"] = len(driver.errors)
        result["error_examples"] = driver.errors[:5]
        result["statuses"] = {str(k): v for k, v in sorted(driver.statuses.items())}
        result["throughput_rps"] = round(len(driver.answered) / elapsed, 1) if elapsed else 0.0
        lat = sorted(driver.latencies)
        for p in (50, 90, 99):
            result[f"p{p}_ms"] = round(percentile(lat, p) * 1000, 2)
        result["max_ms"] = round(lat[-1] * 1000, 2) if lat else None

        engine = create_engine(dbs.main)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT path, event_id FROM privacy_access_log")).all()
        finally:
            engine.dispose()
        found: Counter[int] = Counter()
        unmarked = 0
        for path, _event in rows:
            m = marker(path)
            if m is None:
                unmarked += 1  # the readiness probe
            else:
                found[m] += 1
        expected = set(range(requests))
        result["rows"] = len(rows)
        result["rows_unmarked"] = unmarked
        result["events_marked"] = sum(found.values())
        result["distinct_event_ids"] = len({r[1] for r in rows})
        lost = sorted(expected - set(found))
        duplicated = sorted(m for m, c in found.items() if c > 1)
        result["lost"] = len(lost)
        result["lost_examples"] = lost[:10]
        result["duplicated"] = len(duplicated)
        result["duplicated_examples"] = duplicated[:10]
        result["unexpected"] = len(set(found) - expected)
        result["spool_left"] = sorted(p.name for p in spool.glob("access-*")) if spool.is_dir() else []
        result["ok"] = (
            server.returncode == 0
            and result["errors"] == 0
            and result["answered"] == requests
            and result["lost"] == 0
            and result["duplicated"] == 0
            and result["unexpected"] == 0
            and result["distinct_event_ids"] == len(rows)
            and not result["spool_left"]
        )
        if not result["ok"]:
            result["log_tail"] = log[-2000:]
    finally:
        dbs.drop()
        if keep:
            result["tmp"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def versions() -> str:
    from importlib.metadata import version

    names = ["flask", "gunicorn", "sqlalchemy"]
    return ", ".join(f"{n} {version(n)}" for n in names) + f", CPython {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=2500)
    parser.add_argument("--max-requests-jitter", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (scratch databases are made)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the clients, at most")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (gunicorn.log)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    opts = parser.parse_args()
    result = run(
        requests=opts.requests,
        clients=opts.clients,
        workers=opts.workers,
        max_requests=opts.max_requests,
        jitter=opts.max_requests_jitter,
        database_url=opts.database_url,
        timeout=opts.timeout,
        keep=opts.keep,
    )
    if opts.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"load: {versions()}; {os.cpu_count()} cores")
        for key in (
            "backend",
            "requests",
            "clients",
            "workers",
            "booted",
            "recycled",
            "elapsed_s",
            "answered",
            "errors",
            "statuses",
            "throughput_rps",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "rows",
            "events_marked",
            "distinct_event_ids",
            "lost",
            "duplicated",
            "unexpected",
            "spool_left",
            "server_exit",
        ):
            print(f"  {key:20} {result.get(key)}")
        for key in ("error_examples", "lost_examples", "duplicated_examples", "log_tail"):
            if result.get(key):
                print(f"  {key}: {result[key]}")
        print("OK" if result["ok"] else "MISS")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
