"""``flask privacy worker``: the purge, the mail outbox and the spool replay on
schedule, without cron. ``--once`` runs each job once; two workers at once on the
same databases run each locked job once between them (the other skips it), on
SQLite, PostgreSQL and MariaDB; SIGTERM while waiting ends the worker with 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.cli.worker import LOCK_PREFIX, parse_interval
from flask_casenote_privacy.retention.ledger import destruction_history
from flask_casenote_privacy.rights.outbox import LINK_LOOKUP, enqueue
from flask_casenote_privacy.storage.migrate import try_exclusive
from flask_casenote_privacy.storage.tables import access_log, outbox
from tests.conftest import Outbox
from tests.member_site import PROBE_EMAIL, Site

TIMEOUT = 120


def expired_access_row(app: Flask, now: datetime) -> None:
    with app.app_context(), app.extensions["privacy"].services.databases.main.begin() as conn:
        conn.execute(
            insert(access_log).values(
                event_id=uuid.uuid4().hex,
                occurred_at=now - timedelta(days=200),
                retention="access_log",
                expires_at=now - timedelta(days=1),
                purposes="",
            )
        )


def rows(app: Flask, table: Any) -> int:
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def worker_purges(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        history = destruction_history(app.extensions["privacy"].services)
    return [r for r in history if r["executor"] == "worker"]


def test_intervals_are_read_with_their_units() -> None:
    assert [parse_interval(t) for t in ("30s", "5m", "24h", "1d", "90")] == [30, 300, 86400, 86400, 90]
    for bad in ("", "0s", "-5m", "3w", "soon"):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_once_purges_and_sends_what_is_due(
    make_site: Callable[..., Site], smtp: tuple[str, int, Outbox], clock: Any
) -> None:
    site = make_site(PRIVACY_CAPTURE=False)
    app = site.app
    expired_access_row(app, clock())
    with app.app_context():
        enqueue(site.privacy.services, LINK_LOOKUP, recipient=PROBE_EMAIL)
    result = app.test_cli_runner().invoke(args=["privacy", "worker", "--once", "--format", "json"])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = {line["job"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert set(lines) == {"purge", "mail", "spool"}
    assert all(line["status"] == "ran" for line in lines.values()), lines
    assert lines["purge"]["destroyed"] == 1 and lines["mail"]["sent"] == 1
    assert rows(app, access_log) == 0 and rows(app, outbox) == 0
    purged = [r for r in worker_purges(app) if r["retention"] == "access_log"]
    assert [(r["count"], r["run_id"]) for r in purged] == [(1, lines["purge"]["run_id"])]
    assert [m["to"] for m in smtp[2].wait(1)] == [[PROBE_EMAIL]]


def test_a_job_whose_lock_another_process_holds_is_skipped(backend_app: Flask) -> None:
    engine = backend_app.extensions["privacy"].services.databases.main
    with try_exclusive(engine, LOCK_PREFIX + "purge") as held:
        assert held
        result = backend_app.test_cli_runner().invoke(args=["privacy", "worker", "--once"])
    assert result.exit_code == 0, (result.output, result.exception)
    status = {line.split()[1]: line.split()[2] for line in result.stdout.splitlines()}
    assert status == {"purge": "skipped", "mail": "ran", "spool": "ran"}
    with try_exclusive(engine, LOCK_PREFIX + "purge") as again:  # released after the job
        assert again


# -- real processes -------------------------------------------------------------------
APP_MODULE = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    from flask import Flask
    from flask_casenote_privacy import Privacy
    from flask_casenote_privacy.cli import worker

    app = Flask("worker_app", instance_path=os.environ["INSTANCE"])
    app.config.update(
        SECRET_KEY="s", PRIVACY_DATABASE_URI=os.environ["MAIN"],
        PRIVACY_ARCHIVE_DATABASE_URI=os.environ["ARCHIVE"], PRIVACY_CAPTURE=False,
        PRIVACY_EXTERNAL_URL="http://127.0.0.1",
    )
    privacy = Privacy(app)

    # Two workers at once, made to overlap: a job, once its lock is held, waits until the
    # other worker has skipped it (or 30 s); a skip leaves a file saying so.
    marks = Path(os.environ["MARKS"])
    run_job = worker._run_job

    def hold_until_skipped(name, job):
        def run(services):
            deadline = time.monotonic() + 30
            while not (marks / f"{name}.skipped").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            return job(services)
        return run

    def marking_run_job(services, job):
        outcome = run_job(services, job)
        if outcome["status"] == "skipped":
            (marks / f"{job.name}.skipped").touch()
        return outcome

    if os.environ.get("OVERLAP"):
        worker._purge = hold_until_skipped("purge", worker._purge)
        worker._mail = hold_until_skipped("mail", worker._mail)
        worker._run_job = marking_run_job
        go = marks / "go"
        while not go.exists():  # start together
            time.sleep(0.001)
    """
)


def host_env(tmp_path: Path, main: URL, archive: URL, **extra: str) -> dict[str, str]:
    (tmp_path / "worker_app.py").write_text(APP_MODULE)
    (tmp_path / "marks").mkdir(exist_ok=True)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "INSTANCE": str(tmp_path / "instance"),
        "MAIN": main.render_as_string(hide_password=False),
        "ARCHIVE": archive.render_as_string(hide_password=False),
        "MARKS": str(tmp_path / "marks"),
        **extra,
    }


WORKER = [sys.executable, "-m", "flask", "--app", "worker_app", "privacy", "worker"]


@pytest.mark.slow
def test_two_workers_at_once_run_each_job_once_between_them(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    main, archive = database_urls
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CAPTURE=False)
    now = datetime.now(timezone.utc)
    expired_access_row(app, now)
    with app.app_context():
        enqueue(app.extensions["privacy"].services, LINK_LOOKUP, recipient="nobody@example.kr")
    outbox_due = now - timedelta(minutes=1)  # the test's clock is not the workers'
    with app.app_context(), app.extensions["privacy"].services.databases.main.begin() as conn:
        conn.execute(outbox.update().values(next_attempt_at=outbox_due))
    env = host_env(tmp_path, main, archive, OVERLAP="1")
    workers = [
        subprocess.Popen(
            [*WORKER, "--once", "--format", "json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    time.sleep(2)  # both imported and waiting
    (tmp_path / "marks" / "go").touch()
    outcomes = [w.communicate(timeout=TIMEOUT) for w in workers]
    lines = []
    for worker, (out, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err.decode()[-3000:]
        lines += [json.loads(line) for line in out.decode().splitlines()]
    for job in ("purge", "mail"):
        assert sorted(line["status"] for line in lines if line["job"] == job) == ["ran", "skipped"], lines
    ran = {line["job"]: line for line in lines if line["status"] == "ran"}
    assert ran["purge"]["destroyed"] == 1 and ran["mail"]["dropped"] == 1
    purges = {r["run_id"] for r in worker_purges(app) if r["retention"] == "access_log"}
    assert purges == {ran["purge"]["run_id"]}
    assert rows(app, access_log) == 0 and rows(app, outbox) == 0


@pytest.mark.slow
def test_sigterm_while_waiting_exits_zero_promptly(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    main = URL.create("sqlite", database=str(tmp_path / "main.sqlite"))
    archive = URL.create("sqlite", database=str(tmp_path / "archive.sqlite"))
    make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CAPTURE=False)
    worker = subprocess.Popen(
        [*WORKER, "--mail-every", "1h", "--spool-every", "1h"],
        cwd=tmp_path,
        env=host_env(tmp_path, main, archive),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    first = [worker.stdout.readline().split()[1:3] for _ in range(3)]  # each job once, then waiting
    assert first == [["purge", "ran"], ["mail", "ran"], ["spool", "ran"]], worker.stderr
    time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, err = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode == 0, err[-3000:]
    assert time.monotonic() - started < 5
