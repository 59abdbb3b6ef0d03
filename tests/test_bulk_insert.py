"""The writer's raw multi-row INSERT stores exactly what SQLAlchemy Core would.

The fast path (``capture/bulk_insert.py``) converts values itself (datetimes as
naive UTC, on SQLite as SQLAlchemy's text) and, on SQLite, writes a column that is
NULL in every row of a statement as a ``NULL`` literal. Whatever it does, the
stored values must be the ones an ``insert(access_log)`` through Core stores.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import StatementError

from flask_casenote_privacy.capture import bulk_insert
from flask_casenote_privacy.capture.bulk_insert import BulkInserter
from flask_casenote_privacy.storage.tables import access_log

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 11, 30, 8, 59, 59, 999_998, tzinfo=timezone.utc)
_ids = itertools.count()


def _row(n: int, **fields: Any) -> dict[str, Any]:
    at = START + timedelta(microseconds=n)  # crosses a second, and hits microsecond 0
    row: dict[str, Any] = {
        "event_id": f"{next(_ids):031x}z",
        "occurred_at": at,
        "retention": "access_log",
        "expires_at": (at + timedelta(days=92)).astimezone(SEOUL),
        "purposes": "security,user_protection",
        "ip": "203.0.113.7",
        "method": "GET",
        "path": f"/search/{n}",
        "status": 200,
        "duration_ms": 1.5 + n,
    }
    row.update(fields)
    return row


def _batches() -> list[list[dict[str, Any]]]:
    """Rows with every column NULL somewhere: in all rows of a batch, in some, in none."""
    device = {"user_agent": "Mozilla/5.0", "device_family": "Other", "os_family": "Windows", "browser_family": ""}
    return [
        [_row(n) for n in range(7)],  # 7 rows: statements of 4, 2 and 1
        [_row(n, subject="member-1", cookies='{"_ga": "x"}', **device) for n in range(3)],
        [_row(0, subject="member-2"), _row(1), _row(2, user_agent="curl/8", device_family=None)],
        [_row(0, ip=None, method=None, path=None, status=None, duration_ms=None)],
        [_row(0, occurred_at=datetime(999, 1, 2, 3, 4, 5, tzinfo=NEW_YORK), expires_at=START.astimezone(NEW_YORK))],
        # A new set of NULL columns per batch, more than the inserter keeps statements for.
        *[[_row(n, **{name: None for name in names}) for n in range(2)] for names in _null_sets(12)],
    ]


def _null_sets(count: int) -> list[tuple[str, ...]]:
    names = ("ip", "method", "path", "status", "duration_ms")
    return list(
        itertools.islice(itertools.chain.from_iterable(itertools.combinations(names, k) for k in (1, 2)), count)
    )


def _stored(conn: Connection, event_ids: list[str]) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them (no SQLAlchemy type processing), in order."""
    columns = [c for c in access_log.columns if c.name not in ("id", "event_id")]
    query = select(*columns).where(access_log.c.event_id.in_(event_ids)).order_by(access_log.c.id)
    text = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    return [tuple(r) for r in conn.exec_driver_sql(text)]


def test_the_fast_insert_stores_what_core_stores(backend_app: Flask) -> None:
    engine = backend_app.extensions["privacy"].services.databases.main
    inserter = BulkInserter()
    for batch in _batches():
        twins = [{**row, "event_id": row["event_id"][:-1] + "y"} for row in batch]
        with engine.begin() as conn:
            inserter.insert(conn, batch)
            conn.execute(insert(access_log), [{**dict.fromkeys(bulk_insert._COLUMNS), **row} for row in twins])
        with engine.connect() as conn:
            fast = _stored(conn, [r["event_id"] for r in batch])
            core = _stored(conn, [r["event_id"] for r in twins])
        assert len(fast) == len(batch)
        assert fast == core


def test_a_naive_datetime_still_goes_through_core_and_is_refused(backend_app: Flask) -> None:
    engine = backend_app.extensions["privacy"].services.databases.main
    row = _row(0, occurred_at=datetime(2026, 11, 30, 9, 0))
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        BulkInserter().insert(conn, [row])
