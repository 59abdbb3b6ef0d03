"""PostgreSQL: the access log partitioned by month of expiry (main_0015), partitions
made ahead, and the purge dropping whole past months (issue 15, point 4).

Only PostgreSQL partitions the log; these tests skip without it (CI requires it).
SQLite and MariaDB keep the batched DELETE, which tests/test_purge.py covers.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import URL

from flask_casenote_privacy.retention.ledger import destruction_history
from flask_casenote_privacy.retention.partitions import DROP_METHOD
from flask_casenote_privacy.retention.purge import purge
from flask_casenote_privacy.storage.migrate import SCRIPT_LOCATIONS, upgrade_database
from flask_casenote_privacy.storage.partitions import (
    ACCESS_LOG,
    DEFAULT_PARTITION,
    MONTH_ROWS,
    Partitioned,
    ensure_partitions,
    is_partitioned,
    partitions,
)
from flask_casenote_privacy.storage.tables import access_log
from tests.conftest import REQUIRED, ServerDatabases
from tests.helpers import access_rows, add_routes

UTC = timezone.utc
NOW = datetime(2027, 2, 15, tzinfo=UTC)  # the purge's `now` in these tests: mid-February


@pytest.fixture
def pg_urls(servers: dict[str, ServerDatabases]) -> tuple[URL, URL]:
    if "postgresql" not in servers:
        servers["postgresql"] = ServerDatabases("postgresql")
    server = servers["postgresql"]
    if server.urls is None:
        if "postgresql" in REQUIRED:
            pytest.fail(f"required backend unavailable: {server.error}")
        pytest.skip(server.error or "postgresql")
    return server.fresh()


@pytest.fixture
def pg_app(make_app: Callable[..., Flask], pg_urls: tuple[URL, URL]) -> Flask:
    app = make_app(PRIVACY_DATABASE_URI=pg_urls[0], PRIVACY_ARCHIVE_DATABASE_URI=pg_urls[1])
    add_routes(app)
    return app


def row(expires_at: datetime, retention: str = "access_log") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": expires_at - timedelta(days=90),
        "retention": retention,
        "expires_at": expires_at,
        "path": "/search",
        "purposes": "security",
    }


def where_rows_are(engine: Any, table: str = "privacy_access_log") -> dict[str, int]:
    """Rows per partition (by the table each physically lives in)."""
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"))
        return {name: int(n) for name, n in found}


def months(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return [p.name for p in partitions(conn)]


def alembic(engine: Any, step: Callable[..., None], revision: str, which: str = "main") -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATIONS[which])
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        step(config, revision)


# -- the migration ----------------------------------------------------------------------
def test_main_0015_moves_existing_rows_into_monthly_partitions_and_back(pg_urls: tuple[URL, URL]) -> None:
    engine = create_engine(pg_urls[0])
    alembic(engine, command.upgrade, "main_0014")
    expiries = [datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)]
    expiries += [datetime(2027, 3, 10, tzinfo=UTC) + timedelta(hours=h) for h in range(5)]
    rows = [row(e) for e in expiries]
    with engine.begin() as conn:
        conn.execute(insert(access_log), rows)
        before = {r.event_id: r.id for r in conn.execute(select(access_log.c.event_id, access_log.c.id))}

    assert upgrade_database(engine, "main").after == "main_0016"
    with engine.connect() as conn:
        assert is_partitioned(conn)
        after = {r.event_id: r.id for r in conn.execute(select(access_log.c.event_id, access_log.c.id))}
    assert after == before  # every row, with its id
    assert where_rows_are(engine) == {
        "privacy_access_log_p202612": 1,  # the last microsecond of December (UTC)
        "privacy_access_log_p202701": 1,
        "privacy_access_log_p202703": 5,
    }
    with engine.begin() as conn:  # the id sequence goes on where it was
        conn.execute(insert(access_log), [row(datetime(2027, 3, 11, tzinfo=UTC))])
        assert conn.execute(select(func.max(access_log.c.id))).scalar_one() == max(before.values()) + 1

    alembic(engine, command.downgrade, "main_0014")
    with engine.connect() as conn:
        assert not is_partitioned(conn)
        assert conn.execute(select(func.count()).select_from(access_log)).scalar_one() == len(rows) + 1
        assert conn.execute(text(f"SELECT to_regclass('{DEFAULT_PARTITION}')")).scalar() is None
    assert upgrade_database(engine, "main").after == "main_0016"
    assert sum(where_rows_are(engine).values()) == len(rows) + 1
    engine.dispose()


# -- partitions ahead, and DEFAULT -------------------------------------------------------
def test_upgrade_makes_this_and_the_next_three_months_and_capture_lands_in_its_month(pg_app: Flask) -> None:
    privacy = pg_app.extensions["privacy"]
    engine = privacy.services.databases.main
    # The clock: 2026-11-28 12:00 KST; the log is kept 3 months.
    assert months(engine) == [f"privacy_access_log_p{m}" for m in ("202611", "202612", "202701", "202702")]
    pg_app.test_client().get("/search", headers={"X-Test-Subject": "7"})
    [stored] = access_rows(pg_app)
    assert stored["expires_at"] == datetime(2027, 2, 28, 3, 0, tzinfo=UTC)
    assert where_rows_are(engine) == {"privacy_access_log_p202702": 1}
    assert ensure_partitions(engine, privacy.now()) == []  # idempotent


def test_a_row_of_a_month_without_partition_waits_in_default_then_moves_to_its_month(pg_app: Flask, clock: Any) -> None:
    privacy = pg_app.extensions["privacy"]
    engine = privacy.services.databases.main
    clock.set("2027-06-15T12:00:00+09:00")  # nobody made partitions since November
    pg_app.test_client().get("/search", headers={"X-Test-Subject": "7"})  # expires 2027-09-15
    assert len(access_rows(pg_app)) == 1  # the insert did not fail
    assert where_rows_are(engine) == {DEFAULT_PARTITION: 1}
    result = pg_app.test_cli_runner().invoke(args=["privacy", "worker", "--once"])  # its purge job makes them
    assert result.exit_code == 0, result.output
    assert months(engine)[-4:] == [f"privacy_access_log_p{m}" for m in ("202706", "202707", "202708", "202709")]
    assert where_rows_are(engine) == {"privacy_access_log_p202709": 1}
    with pg_app.app_context():
        assert ensure_partitions(engine, privacy.now()) == []  # nothing left to make
    pg_app.test_client().get("/search", headers={"X-Test-Subject": "7"})
    assert len(access_rows(pg_app)) == 2  # capture goes on into the new partition
    assert where_rows_are(engine) == {"privacy_access_log_p202709": 2}


# -- the purge ---------------------------------------------------------------------------
def seed(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Rows in two whole past months, the boundary month either side of NOW, and later."""
    groups = {
        "dropped": [
            row(datetime(2026, 12, 3, tzinfo=UTC)),
            row(datetime(2026, 12, 31, 23, tzinfo=UTC), "security"),
            *[row(datetime(2027, 1, d, tzinfo=UTC)) for d in (1, 9, 31)],
        ],
        "deleted": [row(datetime(2027, 2, 1, tzinfo=UTC)), row(NOW, "security")],  # NOW itself: expired
        "kept": [
            row(NOW + timedelta(microseconds=1)),
            row(datetime(2027, 2, 28, tzinfo=UTC), "security"),
            row(datetime(2027, 3, 1, tzinfo=UTC)),
            row(datetime(2027, 5, 20, tzinfo=UTC)),
        ],
    }
    privacy = app.extensions["privacy"]
    with app.app_context():
        ensure_partitions(privacy.services.databases.main, datetime(2026, 12, 1, tzinfo=UTC), months_ahead=6)
        with privacy.services.databases.main.begin() as conn:
            conn.execute(insert(access_log), [r for rows in groups.values() for r in rows])
    return groups


def kept_event_ids(app: Flask) -> set[str]:
    return {r["event_id"] for r in access_rows(app)}


def access_ledger(app: Flask) -> list[dict[str, Any]]:
    privacy = app.extensions["privacy"]
    with app.app_context():
        return [r for r in destruction_history(privacy.services) if r["target"] == "access_log"]


def test_purge_drops_past_months_deletes_only_expired_rows_of_the_boundary_month_and_counts_all(
    pg_app: Flask,
) -> None:
    groups = seed(pg_app)
    privacy = pg_app.extensions["privacy"]
    engine = privacy.services.databases.main
    with pg_app.app_context():
        dry = purge(privacy.services, now=NOW, dry_run=True)
    assert dry.classes["access_log"].destroyed == 5 and dry.classes["security"].destroyed == 2
    # what is kept: the month of NOW read, later months from the database's counts
    assert dry.classes["access_log"].kept == 3 and dry.classes["security"].kept == 1
    assert dry.classes["access_log"].next_expiry == NOW + timedelta(microseconds=1)
    assert dry.classes["security"].next_expiry == datetime(2027, 2, 28, tzinfo=UTC)
    assert "privacy_access_log_p202612" in months(engine)  # a dry run drops nothing

    with pg_app.app_context():
        report = purge(privacy.services, now=NOW)
    assert kept_event_ids(pg_app) == {r["event_id"] for r in groups["kept"]}  # exact to the microsecond
    assert "privacy_access_log_p202612" not in months(engine)
    assert "privacy_access_log_p202701" not in months(engine)
    assert "privacy_access_log_p202702" in months(engine)  # the boundary month stays
    assert report.classes["access_log"].destroyed == 5
    assert report.classes["security"].destroyed == 2
    assert report.classes["access_log"].kept == 3 and report.classes["security"].kept == 1

    ledger = {r["retention"]: r for r in access_ledger(pg_app)}
    assert sum(r["count"] for r in ledger.values()) == len(groups["dropped"]) + len(groups["deleted"])
    assert ledger["access_log"]["count"] == 5 and ledger["security"]["count"] == 2
    assert ledger["access_log"]["method"].startswith(DROP_METHOD)  # 3 rows by partition, 1 by DELETE
    assert "DELETE" in ledger["access_log"]["method"].split(" + ")[1]

    pg_app.test_client().get("/search", headers={"X-Test-Subject": "7"})  # capture goes on
    assert len(access_rows(pg_app)) == len(groups["kept"]) + 1


def test_a_purge_of_some_classes_leaves_a_month_holding_others_to_the_delete(pg_app: Flask) -> None:
    groups = seed(pg_app)
    privacy = pg_app.extensions["privacy"]
    with pg_app.app_context():
        purge(privacy.services, now=NOW, classes=["access_log"])
    months_left = months(privacy.services.databases.main)
    assert "privacy_access_log_p202612" in months_left  # holds a security row: not dropped
    assert "privacy_access_log_p202701" not in months_left  # access_log rows only: dropped
    security = {r["event_id"] for rows in groups.values() for r in rows if r["retention"] == "security"}
    assert kept_event_ids(pg_app) == {r["event_id"] for r in groups["kept"]} | security
    assert {r["retention"]: r["count"] for r in access_ledger(pg_app)} == {"access_log": 5}


def test_a_partition_capture_holds_is_not_waited_for_but_deleted_row_by_row(pg_app: Flask) -> None:
    """An open capture transaction on the log: the DROP gives up after lock_timeout
    (never queueing capture behind it for long) and the batched DELETE does the work."""
    groups = seed(pg_app)
    privacy = pg_app.extensions["privacy"]
    engine = privacy.services.databases.main
    holding, release = threading.Event(), threading.Event()

    def capture_transaction() -> None:
        with engine.begin() as conn:  # an insert into a live month, not committed yet
            conn.execute(insert(access_log), [row(datetime(2027, 3, 2, tzinfo=UTC))])
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=capture_transaction)
    thread.start()
    assert holding.wait(10)
    try:
        started = time.monotonic()
        with pg_app.app_context():
            report = purge(privacy.services, now=NOW)
        took = time.monotonic() - started
    finally:
        release.set()
        thread.join(10)
    assert took < 10
    assert report.classes["access_log"].destroyed == 5 and report.classes["security"].destroyed == 2
    assert kept_event_ids(pg_app) >= {r["event_id"] for r in groups["kept"]}
    assert len(kept_event_ids(pg_app)) == len(groups["kept"]) + 1
    ledger = access_ledger(pg_app)
    assert sum(r["count"] for r in ledger) == 7
    assert all("DROP PARTITION" not in r["method"] for r in ledger)


# -- the database's own counts (main_0016) ---------------------------------------------------
def counts_now(engine: Any, table: Partitioned = ACCESS_LOG) -> dict[tuple[str, str], int]:
    """(month, class) -> rows, as the triggers kept them (zero counts left out)."""
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT month, retention, rows FROM {table.month_rows} WHERE rows <> 0"))
        return {(f"{m:%Y%m}", r): int(n) for m, r, n in found}


def counts_true(engine: Any, table: Partitioned = ACCESS_LOG) -> dict[tuple[str, str], int]:
    """(month, class) -> rows, by reading every row."""
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT date_trunc('month', expires_at), retention, count(*) FROM {table.parent} GROUP BY 1, 2")
        )
        return {(f"{m:%Y%m}", r): int(n) for m, r, n in found}


def test_the_counts_follow_every_insert_update_and_delete_whatever_table_it_names(pg_app: Flask, clock: Any) -> None:
    groups = seed(pg_app)
    engine = pg_app.extensions["privacy"].services.databases.main
    assert counts_now(engine) == counts_true(engine)
    assert counts_now(engine)[("202701", "access_log")] == 3

    pg_app.test_client().get("/search", headers={"X-Test-Subject": "7"})  # capture's writer
    clock.set("2027-09-15T12:00:00+09:00")  # a month with no partition: DEFAULT takes it
    pg_app.test_client().get("/search", headers={"X-Test-Subject": "7"})
    assert counts_now(engine) == counts_true(engine)

    dropped = groups["dropped"]
    with engine.begin() as conn:
        # moved to another month (another partition: PostgreSQL deletes and inserts it)
        conn.execute(
            text("UPDATE privacy_access_log SET expires_at = expires_at + interval '40 days' WHERE event_id = :e"),
            {"e": dropped[0]["event_id"]},
        )
        # another class, the same month; then a DELETE naming a partition, not the parent
        conn.execute(
            text("UPDATE privacy_access_log SET retention = 'security' WHERE event_id = :e"),
            {"e": dropped[2]["event_id"]},
        )
        conn.execute(text("DELETE FROM privacy_access_log_p202701 WHERE event_id = :e"), {"e": dropped[3]["event_id"]})
        conn.execute(insert(access_log), [row(datetime(2029, 1, 5, tzinfo=UTC)), row(datetime(2029, 1, 6, tzinfo=UTC))])
    assert where_rows_are(engine)[DEFAULT_PARTITION] == 2  # no partition for January 2029 yet
    assert counts_now(engine) == counts_true(engine)
    with pg_app.app_context():  # DEFAULT's rows move into their new month's partition
        assert "privacy_access_log_p202901" in ensure_partitions(engine, pg_app.extensions["privacy"].now())
    assert DEFAULT_PARTITION not in where_rows_are(engine)
    assert where_rows_are(engine)["privacy_access_log_p202901"] == 2
    assert counts_now(engine) == counts_true(engine)

    with pg_app.app_context():  # whole months dropped, the boundary month deleted by batches
        purge(pg_app.extensions["privacy"].services, now=NOW)
    assert counts_now(engine) == counts_true(engine)
    assert not [key for key in counts_now(engine) if key[0] < "202702"]  # the dropped months' counts went too


def test_a_whole_month_is_dropped_on_the_databases_counts_without_reading_it(pg_app: Flask) -> None:
    """The ledger takes the trigger's counts: proved by a count set apart from the
    truth, which only a purge that does not read the month would write down."""
    seed(pg_app)
    engine = pg_app.extensions["privacy"].services.databases.main
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {MONTH_ROWS} SET rows = rows + 1000 WHERE month = '2027-01-01'"))
    with pg_app.app_context():
        purge(pg_app.extensions["privacy"].services, now=NOW)
    ledger = {r["retention"]: r["count"] for r in access_ledger(pg_app)}
    assert ledger == {"access_log": 5 + 1000, "security": 2}


@pytest.mark.parametrize("damage", ["missing", "negative"])
def test_a_month_whose_counts_are_missing_or_negative_is_counted_row_by_row(pg_app: Flask, damage: str) -> None:
    seed(pg_app)
    engine = pg_app.extensions["privacy"].services.databases.main
    with engine.begin() as conn:
        if damage == "missing":
            conn.execute(text(f"DELETE FROM {MONTH_ROWS} WHERE month = '2027-01-01'"))
        else:
            conn.execute(text(f"UPDATE {MONTH_ROWS} SET rows = -4 WHERE month = '2026-12-01'"))
    with pg_app.app_context():
        purge(pg_app.extensions["privacy"].services, now=NOW)
    ledger = {r["retention"]: r["count"] for r in access_ledger(pg_app)}
    assert ledger == {"access_log": 5, "security": 2}  # the truth, not the counts
    assert "privacy_access_log_p202701" not in months(engine)


def test_main_0016_counts_the_rows_already_there_and_goes_back(pg_urls: tuple[URL, URL]) -> None:
    engine = create_engine(pg_urls[0])
    alembic(engine, command.upgrade, "main_0015")
    expiries = [datetime(2027, 3, 10, tzinfo=UTC) + timedelta(hours=h) for h in range(5)]
    with engine.begin() as conn:
        conn.execute(
            insert(access_log), [row(e) for e in expiries] + [row(datetime(2027, 4, 2, tzinfo=UTC), "security")]
        )
    assert upgrade_database(engine, "main").after == "main_0016"
    assert counts_now(engine) == {("202703", "access_log"): 5, ("202704", "security"): 1} == counts_true(engine)
    alembic(engine, command.downgrade, "main_0015")
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT to_regclass('{MONTH_ROWS}')")).scalar() is None
    with engine.begin() as conn:  # no trigger left behind
        conn.execute(insert(access_log), [row(datetime(2027, 3, 11, tzinfo=UTC))])
    assert upgrade_database(engine, "main").after == "main_0016"
    assert counts_now(engine) == counts_true(engine)
    engine.dispose()
