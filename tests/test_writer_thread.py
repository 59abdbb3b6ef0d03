"""The writer's thread: started again by the next submit, however it ended; inline writes."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError

from flask_casenote_privacy.capture.writer import AccessLogWriter
from flask_casenote_privacy.storage.tables import access_log, metadata
from tests.helpers import record_deliverers


def _row(n: int) -> dict[str, object]:
    now = datetime.now(timezone.utc)
    return {"event_id": f"{n:032x}", "occurred_at": now, "expires_at": now, "retention": "access_log", "purposes": ""}


def test_a_writer_thread_killed_by_a_bug_is_replaced_and_no_row_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'privacy.sqlite'}")
    metadata.create_all(engine)
    writer = AccessLogWriter(lambda: engine, tmp_path / "spool", linger_seconds=0.05)
    died = threading.Event()
    real_linger = writer._linger

    def linger_once_broken() -> None:
        if not died.is_set():
            died.set()
            raise RuntimeError("a bug in the writer thread")
        real_linger()

    monkeypatch.setattr(writer, "_linger", linger_once_broken)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # the thread's traceback
    try:
        writer.submit(_row(1))
        assert died.wait(5)
        first = writer._thread
        if first is not None:
            first.join(5)
        assert writer._thread is None  # the dead thread let go of its place
        writer.submit(_row(2))  # starts a new thread, which writes both rows
        assert writer.flush(timeout=10)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(access_log)).scalar() == 2
        assert writer.close(timeout=10)
    finally:
        engine.dispose()


class _CountingEvent(threading.Event):
    """The writer's wake-up event, counting who set it."""

    def __init__(self) -> None:
        super().__init__()
        self.setters: list[str] = []

    def set(self) -> None:
        self.setters.append(threading.current_thread().name)
        super().set()


def _inline_writer(tmp_path: Path, **options: object) -> tuple[AccessLogWriter, list[str]]:
    """An inline writer on a SQLite file, and the names of the threads that deliver."""
    engine = create_engine(f"sqlite:///{tmp_path / 'privacy.sqlite'}")
    metadata.create_all(engine)
    writer = AccessLogWriter(lambda: engine, tmp_path / "spool", inline=True, **options)  # type: ignore[arg-type]
    return writer, record_deliverers(writer)


def _stored(writer: AccessLogWriter) -> int:
    with writer._engine().connect() as conn:
        return int(conn.execute(select(func.count()).select_from(access_log)).scalar_one())


@pytest.mark.parametrize("request_threads", [1, 4])
def test_inline_requests_write_every_batch_and_never_wake_the_thread(tmp_path: Path, request_threads: int) -> None:
    """Under steady load the thread is never made runnable: a thread woken while the
    request loop holds the GIL waits for it, woken in vain at every release (the
    convoy of docs/benchmarks.md). The requests write the full batches themselves,
    also while other requests' batches are still being written."""
    writer, deliverers = _inline_writer(tmp_path, batch_size=100, linger_seconds=60)
    try:
        wake = writer._wake = _CountingEvent()  # before the thread starts waiting on it
        writer.submit(_row(0))  # starts the thread, which settles into its sweep wait
        time.sleep(0.2)

        def requests(first: int) -> None:
            for n in range(first, 2000, request_threads):
                writer.submit(_row(n))

        threads = [
            threading.Thread(target=requests, args=(1 + i,), name=f"request-{i}") for i in range(request_threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert wake.setters == []
        assert len(deliverers) == 20
        assert "privacy-writer" not in deliverers
        assert _stored(writer) == 2000
        assert writer.flush(timeout=10)
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_the_request_that_finds_the_oldest_row_lingered_writes_the_rows(tmp_path: Path) -> None:
    """A partial batch is not left waiting for a full one: the first request after
    ``linger_seconds`` writes what is queued, its own row too."""
    writer, deliverers = _inline_writer(tmp_path, batch_size=500, linger_seconds=1.0)
    try:
        writer.submit(_row(1))
        writer.submit(_row(2))
        assert _stored(writer) == 0
        time.sleep(1.2)  # past the linger; the thread's sweep comes at 2 s
        writer.submit(_row(3))
        assert _stored(writer) == 3
        assert deliverers == ["MainThread"]
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_rows_left_when_requests_stop_are_swept_by_the_thread(tmp_path: Path) -> None:
    """With no request after them, the last rows are written by the thread once they
    are twice the linger old: not after one linger (it does not wake for them, as
    the threaded writer does), nor lost."""
    writer, deliverers = _inline_writer(tmp_path, batch_size=500, linger_seconds=1.0)
    try:
        for n in range(3):
            writer.submit(_row(n))
        time.sleep(1.4)
        assert _stored(writer) == 0  # the threaded writer would have written them at 1 s
        deadline = time.monotonic() + 10
        while _stored(writer) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _stored(writer) == 3
        assert deliverers == ["privacy-writer"]
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_after_a_failure_requests_leave_writing_to_the_thread_until_it_succeeds(tmp_path: Path) -> None:
    """A request pays for an outage once, not once per retry window: after the
    window the thread retries (and spools while the database is still down); only
    once a write of the thread's succeeds do requests write batches again."""
    good = create_engine(f"sqlite:///{tmp_path / 'privacy.sqlite'}")
    metadata.create_all(good)
    bad = create_engine(f"sqlite:////nonexistent-{uuid.uuid4().hex}/x.sqlite")
    current = [bad]
    writer = AccessLogWriter(
        lambda: current[0], tmp_path / "spool", batch_size=3, retry_seconds=0.2, linger_seconds=2.0, inline=True
    )
    attempts: list[str] = []  # who asked for a connection, for each write tried
    insert = writer._insert

    def spy(rows: list[dict[str, object]], *, idempotent: bool = False) -> None:
        attempts.append(threading.current_thread().name)
        insert(rows, idempotent=idempotent)

    writer._insert = spy  # type: ignore[method-assign]
    try:
        for n in range(3):
            writer.submit(_row(n))  # the third fills the batch: this request tries, and fails
        assert attempts == ["MainThread"]
        time.sleep(0.3)  # the retry window has passed; the database is still down
        for n in range(3, 9):
            writer.submit(_row(n))
        assert writer.flush(timeout=10)
        assert attempts.count("MainThread") == 1  # no request tried again
        assert "privacy-writer" in attempts  # the thread did, and spooled
        assert writer.stats["written"] == 0
        current[0] = good  # the server is back
        time.sleep(0.3)
        writer.submit(_row(9))
        assert writer.flush(timeout=10)
        assert writer.stats["written"] >= 1  # the thread's write succeeded...
        before = attempts.count("MainThread")
        for n in range(10, 13):
            writer.submit(_row(n))
        assert attempts.count("MainThread") == before + 1  # ...so requests write again
        assert writer.flush(timeout=10)
        writer.replay_spool()
        assert _stored(writer) == 13
    finally:
        writer.close(timeout=10)
        good.dispose()
        bad.dispose()


def test_inline_a_write_begun_before_a_failure_does_not_end_the_outage(tmp_path: Path) -> None:
    """With several request threads, a batch that was already being written when
    another failed may still commit: that proves nothing about the database now, so
    requests keep leaving the writing to the thread."""
    writer, _ = _inline_writer(tmp_path, batch_size=500, retry_seconds=60)
    try:
        begun = writer._failures
        writer._failed(OperationalError("INSERT", {}, Exception("connection refused")))
        assert not writer._inline_now()
        writer._written_again(begun)  # the earlier write's commit
        assert not writer._inline_now()
        writer._down_until = 0.0  # the retry window is over; a write begun now succeeds
        writer._written_again(writer._failures)
        assert writer._inline_now()
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_with_a_queue_smaller_than_a_batch_requests_write_when_it_is_full(tmp_path: Path) -> None:
    """``queue_size`` below ``batch_size``: a full queue is written by its request,
    not left to block the next one on backpressure."""
    writer, deliverers = _inline_writer(tmp_path, batch_size=500, queue_size=10, linger_seconds=60)
    try:
        for n in range(30):
            writer.submit(_row(n))
        assert deliverers == ["MainThread"] * 3
        assert _stored(writer) == 30
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_a_batch_interrupted_by_the_process_stopping_is_spooled(tmp_path: Path) -> None:
    """A worker stopped mid-write (gunicorn's timeout raises SystemExit in it) keeps
    its batch: spooled, and replayed later (idempotently, had it been committed)."""
    writer, _ = _inline_writer(tmp_path, batch_size=3, linger_seconds=60)
    insert = writer._insert

    def stopped(rows: list[dict[str, object]], *, idempotent: bool = False) -> None:
        raise SystemExit(1)

    writer._insert = stopped  # type: ignore[method-assign]
    try:
        writer.submit(_row(0))
        writer.submit(_row(1))
        with pytest.raises(SystemExit):
            writer.submit(_row(2))
        writer._insert = insert  # type: ignore[method-assign]
        assert writer.stats["spooled"] == 3
        assert writer.replay_spool() == 3
        assert _stored(writer) == 3
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_close_waits_for_a_requests_batch_without_spinning(tmp_path: Path) -> None:
    """``close`` while a request is writing its batch: the thread waits for it on a
    condition, not in a loop that lists the spool directory."""
    writer, _ = _inline_writer(tmp_path, batch_size=3, linger_seconds=60)
    insert = writer._insert
    writing, release = threading.Event(), threading.Event()

    def slow(rows: list[dict[str, object]], *, idempotent: bool = False) -> None:
        writing.set()
        release.wait(10)
        insert(rows, idempotent=idempotent)

    writer._insert = slow  # type: ignore[method-assign]
    pending = writer._spool_pending
    looks: list[int] = []

    def counted() -> bool:
        looks.append(1)
        return pending()

    writer._spool_pending = counted  # type: ignore[method-assign]
    request = threading.Thread(target=lambda: [writer.submit(_row(n)) for n in range(3)], name="request")
    try:
        request.start()
        assert writing.wait(10)
        # close: its flush gives up after 1 s, then it waits up to 1 s more for the thread
        closer = threading.Thread(target=writer.close, kwargs={"timeout": 1.0}, name="closer")
        closer.start()
        time.sleep(1.2)
        looks.clear()
        time.sleep(0.5)
        assert len(looks) < 50  # a spinning loop looks tens of thousands of times
        release.set()
        request.join(10)
        closer.join(10)
        assert _stored(writer) == 3
    finally:
        release.set()
        writer.close(timeout=10)
        writer._engine().dispose()


def test_inline_under_steady_load_the_thread_still_replays_the_spool(tmp_path: Path) -> None:
    """Requests never replay the spool; under steady inline load the thread replays
    it within the retry interval, in its sweep or its idle wait, whichever it is in,
    instead of waiting for traffic to stop."""
    writer, _ = _inline_writer(tmp_path, batch_size=5, linger_seconds=0.1, retry_seconds=0.3)
    try:
        writer._spool([_row(10_000), _row(10_001)])  # left by an outage, or another worker
        deadline = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < deadline:
            writer.submit(_row(n))
            n += 1
            time.sleep(0.001)
        assert writer.stats["replayed"] == 2
        assert writer.flush(timeout=10)
        assert _stored(writer) == n + 2
    finally:
        writer.close(timeout=10)
        writer._engine().dispose()
