"""The writer's batch INSERT straight to the driver (capture/bulk_insert.py) on every
backend: rows read back exactly as SQLAlchemy would have written them, and a value too
long for its column is refused, never cut (PostgreSQL's arrays of text, MariaDB)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from flask_casenote_privacy.capture.bulk_insert import BulkInserter, Row
from flask_casenote_privacy.storage.engines import make_engine
from flask_casenote_privacy.storage.migrate import upgrade_database
from flask_casenote_privacy.storage.tables import access_log

KST = timezone(timedelta(hours=9))


def rows(n: int) -> list[Row]:
    at = datetime(2026, 11, 30, 21, 5, 7, 123456, tzinfo=KST)
    made: list[Row] = []
    for i in range(n):
        row: Row = {
            "event_id": f"{i:032x}",
            "occurred_at": at + timedelta(seconds=i),
            "retention": "access_log",
            "expires_at": at + timedelta(days=92, seconds=i),
            "ip": "2001:db8::1" if i % 2 else "203.0.113.9",
            "method": "GET",
            "path": "/검색?q=[redacted]",
            "status": 200 + i % 3,
            "duration_ms": 1.5 + i,
            "purposes": "security",
        }
        if i % 3 == 0:  # consent-dependent fields only on some rows, as capture stores them
            row |= {"user_agent": "Mozilla/5.0 ☃", "device_family": "Other", "cookies": "theme", "subject": f"s{i}"}
        made.append(row)
    return made


def test_a_batch_reads_back_exactly(database_urls: tuple[URL, URL]) -> None:
    engine = make_engine(database_urls[0])
    upgrade_database(engine, "main")
    written = rows(700)  # more than one statement's worth on every driver
    with engine.begin() as conn:
        BulkInserter().insert(conn, written)
    with engine.connect() as conn:
        stored = {r.event_id: r._mapping for r in conn.execute(select(access_log))}
    assert len(stored) == len(written)
    for row in written:
        back = stored[row["event_id"]]
        for column in access_log.columns:
            if column.name == "id":
                continue
            want = row.get(column.name)
            if isinstance(want, datetime):
                want = want.astimezone(timezone.utc)
            assert back[column.name] == want, column.name
    engine.dispose()


def test_a_value_too_long_for_its_column_is_refused_not_cut(database_urls: tuple[URL, URL]) -> None:
    engine = make_engine(database_urls[0])
    upgrade_database(engine, "main")
    [row] = rows(1)
    row["method"] = "X" * 17  # method is VARCHAR(16)
    if engine.dialect.name == "sqlite":  # no length enforced: stored whole, never cut
        with engine.begin() as conn:
            BulkInserter().insert(conn, [row])
        with engine.connect() as conn:
            assert conn.execute(select(access_log.c.method)).scalar_one() == "X" * 17
        engine.dispose()
        return
    with pytest.raises(DBAPIError), engine.begin() as conn:
        BulkInserter().insert(conn, [row])
    with engine.connect() as conn:
        assert conn.execute(select(access_log.c.method)).all() == []
    engine.dispose()
