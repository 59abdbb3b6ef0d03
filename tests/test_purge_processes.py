"""``flask privacy purge`` as real processes on SQLite, PostgreSQL and MariaDB: two
purges at once destroy each row once and the ledger does not double count; a purge
killed with SIGKILL mid-run leaves a ledger matching what it destroyed, and the
next run completes the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.storage.tables import access_log, destructions

pytestmark = pytest.mark.slow  # two purge processes at once, and a SIGKILL mid-run

NOW = "2027-01-01T00:00:00+09:00"
CUTOFF = datetime.fromisoformat(NOW)
LIVE = 300
TIMEOUT = 120

APP_MODULE = """
import os

from flask import Flask

from flask_casenote_privacy import Privacy

app = Flask("purge_app", instance_path=os.environ["PURGE_TEST_INSTANCE"])
app.config.update(
    SECRET_KEY="process-test-secret",
    PRIVACY_EXTERNAL_URL="http://127.0.0.1",
    PRIVACY_DATABASE_URI=os.environ["PURGE_TEST_MAIN"],
    PRIVACY_ARCHIVE_DATABASE_URI=os.environ["PURGE_TEST_ARCHIVE"],
    PRIVACY_CAPTURE=False,
)
Privacy(app)
"""


class Deployment:
    """An app module in tmp_path on the test databases, driven through ``flask``."""

    def __init__(self, tmp_path: Path, urls: tuple[URL, URL]) -> None:
        self.dir = tmp_path
        (tmp_path / "purge_app.py").write_text(APP_MODULE)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
            "PURGE_TEST_INSTANCE": str(tmp_path / "instance"),
            "PURGE_TEST_MAIN": urls[0].render_as_string(hide_password=False),
            "PURGE_TEST_ARCHIVE": urls[1].render_as_string(hide_password=False),
        }
        self.engine: Engine = create_engine(urls[0])

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "purge_app", "privacy", *args],
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str) -> tuple[int, str, str]:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=TIMEOUT)
        return proc.returncode, out, err

    def seed(self, expired: int) -> None:
        """``expired`` access-log rows past their time at NOW, and LIVE rows that are not."""
        code, _out, err = self.run("db", "upgrade")
        assert code == 0, err
        start = CUTOFF - timedelta(days=400)
        rows: list[dict[str, Any]] = []
        for n in range(expired + LIVE):
            expires = start + timedelta(seconds=n * 997) if n < expired else CUTOFF + timedelta(days=1 + n % 90)
            assert (expires <= CUTOFF) == (n < expired)
            rows.append(
                {
                    "event_id": uuid.uuid4().hex,
                    "occurred_at": expires - timedelta(days=90),
                    "retention": "access_log",
                    "expires_at": expires,
                    "subject": str(n % 1000),
                    "ip": "127.0.0.1",
                    "method": "GET",
                    "path": f"/search/{n}",
                    "status": 200,
                    "purposes": "member_management,security",
                }
            )
        with self.engine.begin() as conn:
            for start_at in range(0, len(rows), 5000):
                conn.execute(insert(access_log), rows[start_at : start_at + 5000])

    def expired_left(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(access_log).where(access_log.c.expires_at <= CUTOFF)
                ).scalar_one()
            )

    def live_left(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(access_log).where(access_log.c.expires_at > CUTOFF)
                ).scalar_one()
            )

    def ledger(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(destructions).order_by(destructions.c.id)).mappings()]

    def ledger_sum(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(destructions.c.count), 0))).scalar_one())


@pytest.fixture
def deployment(database_urls: tuple[URL, URL], tmp_path: Path) -> Iterator[Deployment]:
    made = Deployment(tmp_path, database_urls)
    yield made
    made.engine.dispose()


def access_log_destroyed(report: dict[str, Any]) -> int:
    return next(c["destroyed"] for c in report["classes"] if c["retention"] == "access_log")


def test_two_purges_at_once_destroy_each_row_once_and_the_ledger_counts_it_once(deployment: Deployment) -> None:
    expired = 20_000
    deployment.seed(expired)
    assert deployment.expired_left() == expired
    args = ("purge", "--now", NOW, "--batch-size", "500", "--format", "json")
    first = deployment.start(*args, "--executor", "proc-a")
    second = deployment.start(*args, "--executor", "proc-b")
    out_a, err_a = first.communicate(timeout=TIMEOUT)
    out_b, err_b = second.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, err_a
    assert second.returncode == 0, err_b

    assert deployment.expired_left() == 0
    assert deployment.live_left() == LIVE  # nothing before its time
    reports = [json.loads(out_a), json.loads(out_b)]
    assert sum(access_log_destroyed(r) for r in reports) == expired  # each row destroyed once
    ledger = deployment.ledger()
    assert sum(r["count"] for r in ledger) == expired  # ...and counted once
    for report, executor in zip(reports, ("proc-a", "proc-b"), strict=True):
        mine = [r for r in ledger if r["run_id"] == report["run_id"]]
        assert sum(r["count"] for r in mine) == access_log_destroyed(report)
        assert all(r["executor"] == executor for r in mine)
        assert len(mine) <= 1  # one row per (run, class, target), however many batches
        if mine:
            assert mine[0]["target"] == "access_log"


def test_a_purge_killed_mid_run_is_completed_by_the_next_with_the_ledger_still_matching(
    deployment: Deployment,
) -> None:
    expired = 30_000
    deployment.seed(expired)
    victim = deployment.start("purge", "--now", NOW, "--batch-size", "100", "--format", "json")
    deadline = time.monotonic() + TIMEOUT
    try:
        while deployment.ledger_sum() == 0:  # wait until it has destroyed (and counted) some
            assert victim.poll() is None, victim.communicate()[1]
            assert time.monotonic() < deadline, "the purge never started destroying"
            time.sleep(0.005)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=TIMEOUT)
    assert victim.returncode == -signal.SIGKILL

    left = deployment.expired_left()
    assert 0 < left < expired, "the purge must be killed mid-run"
    killed = deployment.ledger()
    assert len(killed) == 1
    assert killed[0]["count"] == expired - left  # the ledger matches exactly what the killed run destroyed
    if deployment.engine.dialect.name != "postgresql":  # PostgreSQL: whole months too (main_0015)
        assert killed[0]["count"] % 100 == 0  # whole batches only: each committed with its count

    code, out, err = deployment.run("purge", "--now", NOW, "--batch-size", "100", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert access_log_destroyed(report) == left
    assert deployment.expired_left() == 0
    assert deployment.live_left() == LIVE
    ledger = deployment.ledger()
    assert sum(r["count"] for r in ledger) == expired
    by_run = {r["run_id"]: r["count"] for r in ledger}
    assert by_run == {killed[0]["run_id"]: expired - left, report["run_id"]: left}
    # SQLite: the file is consistent after the kill (no half-written batch).
    if deployment.engine.dialect.name == "sqlite":
        with deployment.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
