"""PostgreSQL: the archive partitioned by month of expiry (archive_0006), and both
partitioned tables' rows counted by the database (main_0016, archive_0006): whole past
months of archived records dropped by the purge with every row in the ledger (issue
15, point 4). Skips without PostgreSQL (CI requires it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from flask_casenote_privacy.retention.ledger import destruction_history
from flask_casenote_privacy.retention.partitions import DROP_METHOD
from flask_casenote_privacy.retention.purge import purge
from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.migrate import upgrade_database
from flask_casenote_privacy.storage.partitions import ARCHIVE, ensure_partitions, is_partitioned, partitions
from tests.test_partitions import alembic, counts_now, counts_true, pg_app, pg_urls, where_rows_are

__all__ = ["pg_app", "pg_urls"]  # the fixtures, shared with tests/test_partitions.py

UTC = timezone.utc
NOW = datetime(2031, 2, 15, tzinfo=UTC)  # the purge's `now`: mid-February 2031


def record(expires_at: datetime, retention: str = "payment_record", key: str | None = None) -> dict[str, Any]:
    return {
        "subject_ref": "ref-" + uuid.uuid4().hex[:8],
        "source": "orders",
        "record_key": key or uuid.uuid4().hex,
        "retention": retention,
        "statute": "전자상거래법 제6조",
        "occurred_at": expires_at - timedelta(days=5 * 365),
        "expires_at": expires_at,
        "archived_at": expires_at - timedelta(days=5 * 365),
        "request_id": None,
        "nonce": b"\0" * 12,
        "ciphertext": b"sealed",
    }


def where_records_are(engine: Any) -> dict[str, int]:
    return where_rows_are(engine, ARCHIVE.parent)


def archive_months(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return [p.name for p in partitions(conn, ARCHIVE)]


def test_archive_0006_moves_existing_records_into_counted_monthly_partitions_and_back(
    pg_urls: tuple[URL, URL],
) -> None:
    engine = create_engine(pg_urls[1])
    alembic(engine, command.upgrade, "archive_0005", "archive")
    rows = [record(datetime(2031, 1, d, tzinfo=UTC)) for d in (3, 4)]
    rows.append(record(datetime(2033, 6, 1, tzinfo=UTC), "complaint_record"))
    with engine.begin() as conn:
        conn.execute(insert(archived_records), rows)

    assert upgrade_database(engine, "archive").after == "archive_0006"
    with engine.connect() as conn:
        assert is_partitioned(conn, ARCHIVE)
    assert where_records_are(engine) == {"privacy_archived_record_p203101": 2, "privacy_archived_record_p203306": 1}
    assert counts_now(engine, ARCHIVE) == {("203101", "payment_record"): 2, ("203306", "complaint_record"): 1}
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a record's key is still unique
        conn.execute(insert(archived_records), [{**rows[0], "subject_ref": "another"}])

    alembic(engine, command.downgrade, "archive_0005", "archive")
    with engine.connect() as conn:
        assert not is_partitioned(conn, ARCHIVE)
        assert conn.execute(text("SELECT count(*) FROM privacy_archived_record")).scalar_one() == 3
        assert conn.execute(text(f"SELECT to_regclass('{ARCHIVE.month_rows}')")).scalar() is None
    assert upgrade_database(engine, "archive").after == "archive_0006"
    assert counts_now(engine, ARCHIVE) == counts_true(engine, ARCHIVE)
    engine.dispose()


def test_purge_drops_past_months_of_the_archive_deletes_the_boundary_and_counts_every_record(
    pg_app: Flask,
) -> None:
    privacy = pg_app.extensions["privacy"]
    engine = privacy.services.databases.archive
    groups = {
        "dropped": [record(datetime(2030, 12, 9, tzinfo=UTC)), record(datetime(2031, 1, 31, 23, tzinfo=UTC))],
        "dropped_other": [record(datetime(2031, 1, 2, tzinfo=UTC), "advertising_record")],
        "deleted": [record(datetime(2031, 2, 1, tzinfo=UTC)), record(NOW)],  # NOW itself: expired
        "kept": [
            record(NOW + timedelta(microseconds=1)),
            record(datetime(2031, 3, 1, tzinfo=UTC)),
            record(datetime(2036, 5, 5, tzinfo=UTC)),  # no partition yet: DEFAULT, then its own month
        ],
    }
    with pg_app.app_context():
        ensure_partitions(engine, datetime(2030, 12, 1, tzinfo=UTC), months_ahead=4, table=ARCHIVE)
        with engine.begin() as conn:
            conn.execute(insert(archived_records), [r for rows in groups.values() for r in rows])
    assert where_records_are(engine)[ARCHIVE.default] == 1
    assert counts_now(engine, ARCHIVE) == counts_true(engine, ARCHIVE)

    with pg_app.app_context():
        report = purge(privacy.services, now=NOW)
    with engine.connect() as conn:
        left = set(conn.execute(text("SELECT record_key FROM privacy_archived_record")).scalars())
    assert left == {r["record_key"] for r in groups["kept"]}  # exact to the microsecond
    assert "privacy_archived_record_p203012" not in archive_months(engine)
    assert "privacy_archived_record_p203101" not in archive_months(engine)
    assert "privacy_archived_record_p203102" in archive_months(engine)  # the boundary month stays
    assert "privacy_archived_record_p203605" in archive_months(engine)  # made by the purge, out of DEFAULT
    assert ARCHIVE.default not in where_records_are(engine)
    assert counts_now(engine, ARCHIVE) == counts_true(engine, ARCHIVE)
    assert report.classes["payment_record"].destroyed == 4
    assert report.classes["advertising_record"].destroyed == 1

    with pg_app.app_context():
        ledger = [r for r in destruction_history(privacy.services) if r["target"] == "archived_records"]
    by_class = {r["retention"]: r for r in ledger}
    assert {k: r["count"] for k, r in by_class.items()} == {"payment_record": 4, "advertising_record": 1}
    assert by_class["payment_record"]["method"].startswith(DROP_METHOD)  # 2 by partition, 2 by DELETE
    assert "DELETE" in by_class["payment_record"]["method"].split(" + ")[1]


def test_counts_stay_exact_through_one_large_statement_each_way(pg_urls: tuple[URL, URL]) -> None:
    """Statement-level counting: one 30,000-row INSERT and one DELETE of them are two
    count updates (a row-level trigger would take quadratic time on such a statement)."""
    engine = create_engine(pg_urls[1])
    upgrade_database(engine, "archive")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO privacy_archived_record (subject_ref, source, record_key, retention, statute, "
                "occurred_at, expires_at, archived_at, nonce, ciphertext) "
                "SELECT 'r', 'orders', 'k' || g, CASE WHEN g % 3 = 0 THEN 'contract_record' ELSE 'payment_record' END, "
                "'s', now(), timestamp '2031-01-01' + g * interval '10 minutes', now(), '\\x00', '\\x00' "
                "FROM generate_series(1, 30000) g"
            )
        )
    assert counts_now(engine, ARCHIVE) == counts_true(engine, ARCHIVE)
    assert sum(counts_now(engine, ARCHIVE).values()) == 30_000
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM privacy_archived_record WHERE record_key < 'k2'"))
        conn.execute(text("UPDATE privacy_archived_record SET retention = 'complaint_record' WHERE record_key < 'k3'"))
    assert counts_now(engine, ARCHIVE) == counts_true(engine, ARCHIVE)
    engine.dispose()
