"""The benchmark scripts still run: each with tiny sizes, so they cannot rot.

These are not timed: the figures (docs/benchmarks.md) come from full runs. A
run must finish, print its tables, and account for every row it made; a missed
speed target does not fail them (``--no-check``), a missing row does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_request_overhead_runs_every_variant_and_stores_every_row() -> None:
    out = _run(
        "benchmarks/request_overhead.py",
        *("--requests", "300", "--rounds", "1", "--memory-requests", "600", "--no-check"),
    )
    for variant in ("bare", "floor", "capture", "floor+consent", "capture+consent", "naive"):
        assert f"| {variant} |" in out
    assert "| capture, database only |" in out
    assert "| capture, log only |" in out
    assert "| capture rows written / requests | 1.00 | = 1 | PASS |" in out
    assert "| floor rows written / requests | 1.00 | = 1 | PASS |" in out
    assert "| rows written / 600 memory requests | 1.00 | = 1 | PASS |" in out


# Inline writes under gthread workers: the stricter case (several request threads of
# one worker write batches at once); inline with sync workers is one thread of it.
@pytest.mark.parametrize(("writer", "worker_threads"), [("thread", 0), ("inline", 4)])
def test_server_benchmark_serves_every_app_and_finds_every_row(writer: str, worker_threads: int) -> None:
    """bare, the floor and capture behind gunicorn; every row of the floor's and
    capture's is stored (with the threaded writer and with inline writes; with
    sync workers and with gthread workers, whose request threads write batches
    concurrently)."""
    pytest.importorskip("gunicorn")
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    extra = ("--inline",) if writer == "inline" else ()
    extra += ("--worker-threads", str(worker_threads)) if worker_threads else ()
    out = _run("benchmarks/server.py", "--quick", "--no-check", *extra, timeout=300)
    assert ("gthread workers of 4 threads" in out) == bool(worker_threads)
    for variant in ("bare", "floor", "capture"):
        assert f"| plain | {variant} |" in out
    for variant in ("capture", "floor"):
        rows = next(line for line in out.splitlines() if f"{variant} rows stored" in line)
        assert rows.endswith("| PASS |"), out
    assert "floor / bare throughput" in out
    assert "| spool files left | 0 | = 0 | PASS |" in out


def test_purge_benchmark_runs_small() -> None:
    out = _run("benchmarks/purge.py", "--rows", "2000", "--no-check")
    assert "| expired rows left after the purge | 0 | = 0 | PASS |" in out


def test_partition_purge_benchmark_runs_small() -> None:
    """PostgreSQL only: the partition purge against a DELETE, with an inserter and a
    capture app running."""
    import os

    from sqlalchemy.engine import make_url

    server = os.environ.get("PRIVACY_TEST_POSTGRESQL_URL")
    if not server:
        pytest.skip("PRIVACY_TEST_POSTGRESQL_URL is not set")
    url = make_url(server).set(database=f"privacy_bench_partition_{os.getpid()}")
    out = _run(
        "benchmarks/partition_purge.py",
        *("--rows", "20000", "--no-check", "--database-url", url.render_as_string(hide_password=False)),
    )
    assert "| expired rows left | 0 | = 0 | PASS |" in out
    assert next(line for line in out.splitlines() if line.startswith("| ledger sum |")).endswith("| PASS |")
    assert "partitions dropped: 6;" in out
    # capture served requests all along, from a process of its own, and stored every row
    assert next(line for line in out.splitlines() if line.startswith("| capture rows stored /")).endswith("| PASS |")
    assert "| capture requests |" in out


def test_request_overhead_counts_a_local_database_servers_cpu() -> None:
    """On PostgreSQL the naive INSERT's cost is mostly the server's: the CPU clock
    counts the local server's processes, and grows when the server works."""
    import os

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from request_overhead import server_cpu_reader
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    read, counted = server_cpu_reader(None)
    assert read() == 0.0 and "SQLite" in counted
    read, counted = server_cpu_reader("postgresql+psycopg://u@db.example.com/x")
    assert read() == 0.0 and "not counted" in counted
    server = os.environ.get("PRIVACY_TEST_POSTGRESQL_URL")
    if not server:
        pytest.skip("PRIVACY_TEST_POSTGRESQL_URL is not set")
    read, counted = server_cpu_reader(server)
    assert "backends" in counted
    engine = create_engine(server, poolclass=NullPool)  # each connection's backend exits when it closes
    try:
        before = read()
        with engine.connect() as conn:  # ~0.4 s of server CPU
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.execute(text("SELECT count(*) FROM generate_series(1, 6000000)")).scalar()
            worked = read()
        assert worked - before >= 0.1
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), "the backend did not exit"
        # Another backend's work (half the first's) adds on top: the exited backend's
        # CPU is not taken back (other tests' backends of this database come and go too).
        # A backend is read while it lives, as the benchmark's pooled ones always are.
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM generate_series(1, 3000000)")).scalar()
            assert read() - worked >= 0.05
    finally:
        engine.dispose()
