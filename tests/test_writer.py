"""The buffered, lossless writer: batches, backpressure, the spool while the
database is down and its idempotent replay, the synchronous mode, and no lost
event under a forking server (real gunicorn).

Outages are real: the app's main engine is swapped for one that points at
nothing (a port nobody listens on; an SQLite file in a missing directory), and
swapped back for the recovery.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.capture.writer import AccessLogWriter
from flask_casenote_privacy.storage.tables import access_log, metadata
from tests.helpers import access_rows, add_routes, record_deliverers

RETRY = 0.2  # PRIVACY_WRITER_RETRY_SECONDS in these tests


# -- helpers ------------------------------------------------------------------------
def _site(make_app: Callable[..., Flask], urls: tuple[URL, URL], **config: Any) -> Flask:
    main, archive = urls
    config.setdefault("PRIVACY_WRITER_RETRY_SECONDS", RETRY)
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, **config)
    add_routes(app)
    return app


def _unreachable(url: URL) -> Engine:
    """An engine for the same backend that cannot connect."""
    if url.get_backend_name() == "sqlite":
        return create_engine(f"sqlite:////nonexistent-{uuid.uuid4().hex}/x.sqlite")
    return create_engine(url.set(port=1))  # connection refused


@contextmanager
def outage(app: Flask) -> Iterator[None]:
    """The main database is unreachable inside the block, and back after it."""
    privacy = app.extensions["privacy"]
    with app.app_context():
        good = privacy.services.databases.main
        bad = _unreachable(good.url)
        privacy.services.databases.main = bad
    try:
        yield
    finally:
        with app.app_context():
            privacy.services.databases.main = good
        bad.dispose()


def _spool_dir(app: Flask) -> Path:
    with app.app_context():
        return Path(app.extensions["privacy"]._state().writer.spool_dir)


def _tag(app: Flask) -> str:
    """The tag of the app's main database in its spool file names."""
    with app.app_context():
        return str(app.extensions["privacy"]._state().writer.spool_tag)


def _pending(spool: Path) -> list[Path]:
    """Spool files not yet replayed (including ones being replayed)."""
    return sorted(spool.glob("access-*.jsonl*")) if spool.is_dir() else []


def _spooled_event_ids(spool: Path) -> list[str]:
    """event_ids in the spool; retried because the writer may be renaming a file to try a replay."""
    for _ in range(50):
        try:
            ids = []
            for path in _pending(spool):
                text = path.read_text(encoding="utf-8")
                assert text.endswith("\n"), f"{path.name} ends in a torn line"
                ids += [json.loads(line)["event_id"] for line in text.splitlines()]
            return ids
        except FileNotFoundError:
            time.sleep(0.02)
    raise AssertionError("the spool kept changing under the test")


def _table(app: Flask) -> list[dict[str, Any]]:
    """Rows in the table now, without flushing (replays are not part of a flush)."""
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(access_log)).mappings()]


def _wait_for_replay(app: Flask, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Poll until the table holds ``expected`` rows and the spool is empty."""
    spool = _spool_dir(app)
    deadline = time.monotonic() + timeout
    while True:
        rows = _table(app)
        if (len(rows) >= expected and not _pending(spool)) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _search(app: Flask, n: int, **headers: str) -> None:
    client = app.test_client()
    for _ in range(n):
        assert client.get("/search?q=x", headers=headers).status_code == 200


def _spool_line(row: dict[str, Any]) -> str:
    """One row in the writer's JSONL format (no id; datetimes as ISO text)."""
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "id"}
    return json.dumps(out, ensure_ascii=False) + "\n"


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _assert_exactly_once(rows: list[dict[str, Any]], expected: int) -> None:
    ids = [r["event_id"] for r in rows]
    assert len(rows) == expected
    assert len(set(ids)) == expected


# -- the spool while the database is down ----------------------------------------------
def test_requests_are_served_and_spooled_while_the_database_is_down_then_replayed(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    app = _site(make_app, database_urls)
    spool = _spool_dir(app)
    assert spool == tmp_path / "instance" / "privacy-spool"  # the default: the instance folder
    privacy = app.extensions["privacy"]

    with outage(app):
        _search(app, 10)  # every request is served
        with app.app_context():
            assert privacy.flush(timeout=15) is True  # spooled is durable
        spooled = _spooled_event_ids(spool)
        assert len(spooled) == 10
        assert len(set(spooled)) == 10
        assert all(p.name.startswith(f"access-{_tag(app)}-{os.getpid()}-") for p in _pending(spool))
    assert _table(app) == []  # nothing reached the database during the outage

    time.sleep(RETRY * 1.5)  # past the retry pause: the next batch tries the database again
    _search(app, 5)
    rows = access_rows(app)  # flush: the 5 new ones are durable
    rows = _wait_for_replay(app, 15)
    _assert_exactly_once(rows, 15)
    assert set(spooled) <= {r["event_id"] for r in rows}
    assert {r["path"] for r in rows} == {"/search"}
    assert all(r["status"] == 200 and r["ip"] == "127.0.0.1" for r in rows)
    assert _pending(spool) == []
    with app.app_context():
        stats = privacy._state().writer.stats
    assert stats["spooled"] == 10
    assert stats["replayed"] == 10


def test_the_writer_replays_on_its_own_once_the_database_is_back(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    """No new request needed: the writer retries every PRIVACY_WRITER_RETRY_SECONDS."""
    app = _site(make_app, database_urls, PRIVACY_SPOOL_DIR=str(tmp_path / "my-spool"))
    spool = _spool_dir(app)
    assert spool == tmp_path / "my-spool"
    with outage(app):
        _search(app, 7)
        with app.app_context():
            assert app.extensions["privacy"].flush(timeout=15)
        assert len(_spooled_event_ids(spool)) == 7
        time.sleep(RETRY * 3)  # retries during the outage fail and keep the spool
        assert len(_spooled_event_ids(spool)) == 7
    rows = _wait_for_replay(app, 7)
    _assert_exactly_once(rows, 7)
    assert _pending(spool) == []


# -- replay: idempotent, torn lines, dead claims -------------------------------------------
def test_replay_is_idempotent_and_skips_a_torn_last_line(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    app = _site(make_app, database_urls)
    _search(app, 3)
    existing = access_rows(app)
    assert len(existing) == 3
    fresh = [{**existing[0], "event_id": uuid.uuid4().hex} for _ in range(2)]
    torn = {**existing[0], "event_id": uuid.uuid4().hex}
    spool = _spool_dir(app)
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / f"access-{_tag(app)}-{_dead_pid()}-{time.time_ns()}.jsonl"
    # Already in the table (a batch that committed but whose success was not seen),
    # two that are not, and a line cut by a crash mid-write.
    path.write_text(
        "".join(_spool_line(r) for r in [*existing, *fresh]) + _spool_line(torn).rstrip("\n"),
        encoding="utf-8",
    )

    _search(app, 1)  # the next successful batch replays the spool
    access_rows(app)
    rows = _wait_for_replay(app, 6)
    _assert_exactly_once(rows, 3 + 2 + 1)
    ids = {r["event_id"] for r in rows}
    assert {r["event_id"] for r in fresh} <= ids
    assert torn["event_id"] not in ids
    assert not path.exists()
    assert _pending(spool) == []
    replayed = {r["event_id"]: r for r in rows}[fresh[0]["event_id"]]
    assert replayed["occurred_at"] == existing[0]["occurred_at"]
    assert replayed["expires_at"] == existing[0]["expires_at"]

    # The same file again (say, restored from a backup): nothing new.
    path.write_text("".join(_spool_line(r) for r in [*existing, *fresh]), encoding="utf-8")
    _search(app, 1)
    access_rows(app)
    rows = _wait_for_replay(app, 7)
    _assert_exactly_once(rows, 7)
    assert not path.exists()


def test_a_replay_claimed_by_a_dead_process_is_taken_over(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    app = _site(make_app, database_urls)
    _search(app, 1)
    (template,) = access_rows(app)
    spool = _spool_dir(app)
    spool.mkdir(parents=True, exist_ok=True)
    dead = _dead_pid()
    orphan_rows = [{**template, "event_id": uuid.uuid4().hex} for _ in range(4)]
    orphan = spool / f"access-{_tag(app)}-{dead}-{time.time_ns()}.jsonl.replaying-{dead}"
    orphan.write_text("".join(_spool_line(r) for r in orphan_rows), encoding="utf-8")
    # A replay still running in a live process is left to it.
    with subprocess.Popen(["sleep", "30"]) as alive:
        try:
            busy_rows = [{**template, "event_id": uuid.uuid4().hex} for _ in range(2)]
            busy = spool / f"access-{_tag(app)}-{alive.pid}-{time.time_ns()}.jsonl.replaying-{alive.pid}"
            busy.write_text("".join(_spool_line(r) for r in busy_rows), encoding="utf-8")

            _search(app, 1)
            access_rows(app)
            deadline = time.monotonic() + 15
            while orphan.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            rows = _table(app)
            _assert_exactly_once(rows, 1 + 4 + 1)
            assert {r["event_id"] for r in orphan_rows} <= {r["event_id"] for r in rows}
            assert not orphan.exists()
            assert busy.exists()  # its owner is alive
        finally:
            alive.kill()
            alive.wait()

    # Once that process is dead, its claim is taken over too.
    deadline = time.monotonic() + 15
    while busy.exists() and time.monotonic() < deadline:
        _search(app, 1)
        access_rows(app)
        time.sleep(0.1)
    assert not busy.exists()
    rows = _table(app)
    assert {r["event_id"] for r in busy_rows} <= {r["event_id"] for r in rows}
    assert len(rows) == len({r["event_id"] for r in rows})


# -- backpressure -----------------------------------------------------------------------
def test_a_full_queue_blocks_instead_of_dropping(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    app = _site(make_app, database_urls, PRIVACY_WRITER_QUEUE_SIZE=5, PRIVACY_WRITER_BATCH_SIZE=2)
    with app.app_context():
        writer = app.extensions["privacy"]._state().writer
    assert writer.queue_size == 5
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _search(app, 125)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    rows = access_rows(app)
    _assert_exactly_once(rows, 500)
    assert writer.stats["written"] == 500
    assert writer.stats["spooled"] == 0


def test_close_right_after_a_submit_stops_the_thread_at_once(tmp_path: Path) -> None:
    """A close arriving while the thread goes idle is not missed (it used to
    wait out the idle wait: 2 s by default, here a minute)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'privacy.sqlite'}")
    metadata.create_all(engine)
    now = datetime.now(timezone.utc)
    try:
        for n in range(30):
            writer = AccessLogWriter(lambda: engine, tmp_path, idle_seconds=60)  # an existing spool dir
            writer.submit(
                {
                    "event_id": f"{n:032x}",
                    "occurred_at": now,
                    "expires_at": now,
                    "retention": "access_log",
                    "purposes": "",
                }
            )
            started = time.monotonic()
            assert writer.close(timeout=10)
            assert time.monotonic() - started < 5, f"close {n} waited for the idle timeout"
            assert writer._thread is None
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(access_log)).scalar() == 30
    finally:
        engine.dispose()


# -- synchronous mode -----------------------------------------------------------------
def test_synchronous_mode_writes_in_the_request_and_spools_while_down(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    app = _site(make_app, database_urls, PRIVACY_CAPTURE_SYNC=True, PRIVACY_SPOOL_DIR=str(tmp_path / "sp"))
    privacy = app.extensions["privacy"]
    spool = tmp_path / "sp"
    _search(app, 2)
    assert len(_table(app)) == 2  # written before the response, without a flush

    with outage(app):
        _search(app, 5)
        assert len(_spooled_event_ids(spool)) == 5  # spooled before the response
        with app.app_context():
            assert privacy.flush(timeout=5) is True
    with app.app_context():
        assert privacy._state().writer._thread is None  # no background thread in this mode

    time.sleep(RETRY * 1.5)
    _search(app, 1)  # written, then the spool is replayed, in the request
    rows = _table(app)
    _assert_exactly_once(rows, 8)
    assert _pending(spool) == []


@pytest.mark.slow  # ~13 s on MariaDB
def test_synchronous_mode_loses_nothing_when_threads_spool_and_replay_at_once(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    """A flapping database under a threaded server: some requests spool while others
    (the database answering them) replay the same spool file at the same moment."""
    app = _site(make_app, database_urls, PRIVACY_CAPTURE_SYNC=True, PRIVACY_WRITER_RETRY_SECONDS=0.0)
    privacy = app.extensions["privacy"]
    with app.app_context():
        good = privacy.services.databases.main
        bad = _unreachable(good.url)
    state = privacy._state()  # the app is the only one initialised
    stop = threading.Event()
    errors: list[BaseException] = []

    def flap() -> None:
        down = False
        while not stop.is_set():
            down = not down
            state.services.databases.main = bad if down else good
            time.sleep(0.003)
        state.services.databases.main = good

    def worker() -> None:
        try:
            _search(app, 100)
        except BaseException as exc:
            errors.append(exc)

    flapper = threading.Thread(target=flap)
    flapper.start()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        stop.set()
        flapper.join()
        bad.dispose()
    assert errors == []  # no request failed
    with app.app_context():
        assert privacy._state().writer.stats["spooled"] > 0  # the outages were real
    _search(app, 1)  # the database is back: this request replays what is left
    rows = _wait_for_replay(app, 401)
    _assert_exactly_once(rows, 401)
    assert _pending(_spool_dir(app)) == []


# -- a forking server -----------------------------------------------------------------
FORKAPP = '''
"""A gunicorn app: the parent captures and flushes one request before forking."""
import os

from flask import Flask

from flask_casenote_privacy import Privacy

app = Flask("forkapp", instance_path=os.environ["FORKAPP_INSTANCE"])
app.config.update(
    SECRET_KEY="fork-secret",
    PRIVACY_EXTERNAL_URL="http://127.0.0.1",
    PRIVACY_DATABASE_URI=os.environ["FORKAPP_MAIN"],
    PRIVACY_ARCHIVE_DATABASE_URI=os.environ["FORKAPP_ARCHIVE"],
    PRIVACY_AUTO_UPGRADE=True,
    PRIVACY_LOG_ACCESS=False,
    PRIVACY_CAPTURE_EXCLUDE=["/health"],
    PRIVACY_WRITER_RETRY_SECONDS=0.2,
)
privacy = Privacy(app)


@app.get("/search")
def search():
    return "results"


@app.get("/health")
def health():
    return "ok"


# Warm up: the parent has a writer thread and pooled connections when it forks.
assert app.test_client().get("/search").status_code == 200
assert privacy.flush(timeout=30)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return int(response.status)


@pytest.mark.slow  # real gunicorn
def test_no_event_is_lost_under_a_forking_server(database_urls: tuple[URL, URL], tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    main, archive = database_urls
    (tmp_path / "forkapp.py").write_text(textwrap.dedent(FORKAPP), encoding="utf-8")
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), root, os.environ.get("PYTHONPATH", "")]),
        "FORKAPP_INSTANCE": str(tmp_path / "instance"),
        "FORKAPP_MAIN": main.render_as_string(hide_password=False),
        "FORKAPP_ARCHIVE": archive.render_as_string(hide_password=False),
    }
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "--max-requests", "40"]
    args += [
        "--max-requests-jitter",
        "5",
        "--graceful-timeout",
        "20",
        "-b",
        f"127.0.0.1:{port}",
        "forkapp:app",
    ]
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, log_path.read_text(errors="replace")
            try:
                if _get(f"{base}/health", timeout=1) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.1)

        statuses: list[int | str] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for _ in range(n):
                try:
                    status: int | str = _get(f"{base}/search?q=x")
                except OSError as exc:
                    status = repr(exc)
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=client, args=(75,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert statuses == [200] * 300, [s for s in statuses if s != 200][:5]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
    log = log_path.read_text(errors="replace")
    assert server.returncode == 0, log

    engine = create_engine(main)
    try:
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(access_log)).scalar_one()
            distinct = conn.execute(select(func.count(access_log.c.event_id.distinct()))).scalar_one()
    finally:
        engine.dispose()
    assert (count, distinct) == (301, 301), log[-3000:]  # 300 + the parent's warm-up
    assert _pending(tmp_path / "instance" / "privacy-spool") == []


# -- who writes a full batch -------------------------------------------------------------
def test_with_inline_writes_the_request_that_fills_a_batch_writes_it_itself(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    """No thread switch per batch under load: the 5th request (batch size 5) finds its
    batch's rows in the database when it returns, although the writer thread would
    linger for a minute; the 4 before it wait in the queue."""
    app = _site(make_app, database_urls, PRIVACY_WRITER_BATCH_SIZE=5, PRIVACY_WRITER_INLINE=True)
    with app.app_context():
        writer = app.extensions["privacy"]._state().writer
    writer.linger_seconds = 60.0
    _search(app, 4)
    assert _table(app) == []
    _search(app, 1)
    rows = _table(app)
    _assert_exactly_once(rows, 5)
    _search(app, 3)
    with app.app_context():
        assert app.extensions["privacy"].flush(timeout=30)
    _assert_exactly_once(_table(app), 8)


def test_with_inline_writes_after_a_failure_full_batches_are_left_to_the_thread(tmp_path: Path) -> None:
    """A request pays for an outage at most once per retry window: after a failed
    write, full batches go to the writer thread (which spools them), not to the
    request that filled them."""
    callers: list[str] = []
    bad = create_engine(f"sqlite:////nonexistent-{uuid.uuid4().hex}/x.sqlite")

    def engine() -> Engine:
        callers.append(threading.current_thread().name)
        return bad

    now = datetime.now(timezone.utc)
    writer = AccessLogWriter(engine, tmp_path / "spool", batch_size=3, retry_seconds=60, linger_seconds=60, inline=True)
    callers.clear()  # the constructor asked for the engine's URL
    try:
        for n in range(9):
            writer.submit(
                {
                    "event_id": f"{n:032x}",
                    "occurred_at": now,
                    "expires_at": now,
                    "retention": "access_log",
                    "purposes": "",
                }
            )
        assert writer.flush(timeout=30)
        callers_by_request = [c for c in callers if c == threading.current_thread().name]
        assert len(callers_by_request) == 1  # the first full batch, which failed and was spooled
        assert writer.stats["spooled"] == 9
        assert writer.stats["written"] == 0
        assert sorted(_spooled_event_ids(tmp_path / "spool")) == [f"{n:032x}" for n in range(9)]
    finally:
        writer.close(timeout=10)
        bad.dispose()


def test_by_default_a_full_batch_is_written_by_the_thread_not_the_request(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    """Without PRIVACY_WRITER_INLINE a request never waits for a commit: the full
    batch wakes the thread, which writes it well before its minute of linger."""
    app = _site(make_app, database_urls, PRIVACY_WRITER_BATCH_SIZE=5)
    with app.app_context():
        writer = app.extensions["privacy"]._state().writer
    writer.linger_seconds = 60.0
    writers = record_deliverers(writer)
    _search(app, 5)
    rows = _wait_for_replay(app, 5, timeout=20)
    _assert_exactly_once(rows, 5)
    assert writers == ["privacy-writer"]
