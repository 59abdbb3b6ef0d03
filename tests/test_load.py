"""The demo under real gunicorn (4 workers, recycled mid-run by --max-requests),
loaded by concurrent clients: every request's access event is in the database
afterwards, exactly once. A CI-sized run of ``benchmarks/load.py`` (the full
20,000-request figures are in docs/reliability.md), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.load]

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = 2000


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def test_every_request_under_gunicorn_with_recycled_workers_is_recorded_exactly_once(backend: str) -> None:
    pytest.importorskip("gunicorn")
    args = [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--json", "--requests", str(REQUESTS)]
    # ~500 requests per worker, against at most 350 before recycling: each is recycled
    # at least once mid-run.
    args += ["--clients", "8", "--workers", "4", "--max-requests", "300", "--max-requests-jitter", "50"]
    args += ["--timeout", "90"]
    if backend == "postgresql":
        url = os.environ.get("PRIVACY_TEST_POSTGRESQL_URL")
        if not url:
            pytest.skip("PRIVACY_TEST_POSTGRESQL_URL is not set")
        args += ["--database-url", url]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.stdout.strip(), done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    assert result["recycled"] >= 1, result  # a worker was recycled mid-run...
    # ...and replaced (a worker recycled by the last requests may still be booting when
    # the run stops the server: count the replacements that booted, at least one)
    assert result["booted"] >= 5, result
    assert (result["answered"], result["errors"]) == (REQUESTS, 0), result
    assert result["statuses"] == {"200": REQUESTS * 3 // 4, "404": REQUESTS // 4}
    assert result["events_marked"] == REQUESTS, result
    assert (result["lost"], result["duplicated"], result["unexpected"]) == (0, 0, 0), result
    assert result["distinct_event_ids"] == result["rows"], result
    assert result["spool_left"] == [], result
    assert result["server_exit"] == 0, result
    assert result["ok"] and done.returncode == 0, result
