"""The writer's thread: started again by the next submit, however it ended."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from flask_casenote_privacy.capture.writer import AccessLogWriter
from flask_casenote_privacy.storage.tables import access_log, metadata


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
