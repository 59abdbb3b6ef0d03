"""``flask privacy purge`` on SQLite, PostgreSQL and MariaDB: every kind of record is
destroyed exactly when its retention ends and not a second before, the destruction
ledger (파기 기록) matches what was destroyed and holds no personal data, SQLite
files no longer contain destroyed values, and a restored backup does not bring
destroyed subjects back."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import URL

from flask_casenote_privacy.retention.ledger import destruction_history
from flask_casenote_privacy.rights.audit import record_operator_access
from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.crypto import subject_ref
from flask_casenote_privacy.storage.tables import (
    access_log,
    destructions,
    operator_access,
    provisions,
    subject_keys,
    token_uses,
    tombstones,
)
from tests.member_site import PROBE_EMAIL, Payment, SearchHistory, Site, User, build_site

KST = timezone(timedelta(hours=9))
START = "2026-11-30T12:00:00+09:00"
PROBE_PATH = "PROBE-XYZ-123"


@pytest.fixture
def site(make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, clock: Any) -> Iterator[Site]:
    clock.set(START)
    site = build_site(make_app, database_urls, tmp_path, PRIVACY_CSRF=False)
    yield site
    site.close()


def sqlite_urls(tmp_path: Path) -> tuple[URL, URL]:
    return (
        URL.create("sqlite", database=str(tmp_path / "main.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "archive.sqlite")),
    )


@pytest.fixture
def sqlite_site(make_app: Callable[..., Flask], tmp_path: Path, clock: Any) -> Iterator[Site]:
    clock.set(START)
    site = build_site(make_app, sqlite_urls(tmp_path), tmp_path, PRIVACY_CSRF=False)
    yield site
    site.close()


# -- helpers ------------------------------------------------------------------------------
def run_purge(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["privacy", "purge", *args])


def purge_json(app: Flask, *args: str) -> dict[str, Any]:
    result = run_purge(app, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def by_class(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["retention"]: c for c in report["classes"]}


def count(app: Flask, table: Any, database: str = "main") -> int:
    privacy = app.extensions["privacy"]
    engine = privacy.services.databases.main if database == "main" else privacy.services.databases.archive
    with app.app_context():
        privacy.flush(timeout=30)
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def history(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return destruction_history(app.extensions["privacy"].services)


def as_member(subject: str = "41") -> dict[str, str]:
    return {"X-Test-Subject": subject}


def withdraw(site: Site, subject: str = "41") -> None:
    answer = site.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers=as_member(subject))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "completed"
    with site.app.app_context():
        site.privacy.services.mailer.flush()  # its notices are sent (and their addresses gone) now


def table_counts(app: Flask) -> dict[str, int]:
    return {
        "access_log": count(app, access_log),
        "provisions": count(app, provisions),
        "operator_access": count(app, operator_access),
        "token_uses": count(app, token_uses),
        "subject_keys": count(app, subject_keys),
        "archived_records": count(app, archived_records, "archive"),
        "tombstones": count(app, tombstones),
    }


# -- seeding one record of each target, created at START ----------------------------------------
def seed_access_log(site: Site) -> None:
    site.app.test_client().get("/search", headers=as_member("7"))


def seed_provision(site: Site) -> None:
    with site.app.app_context():
        site.privacy.record_provision("7", recipient="nicepay", items=["card_number"])


def seed_operator_access(site: Site) -> None:
    with site.app.app_context():
        record_operator_access(site.privacy.services, operator="officer-kim", task="export subject data", subject="7")


def seed_withdrawal_link_use(site: Site) -> None:
    privacy = site.privacy
    with site.app.app_context():
        link = privacy.services.withdraw_tokens.read(privacy.services.withdraw_tokens.make("7"))
        privacy.services.withdraw_tokens.use(privacy.services.databases.main, link, privacy.now())


TARGET_CASES = {
    # name: (seed, retention class, table, database, first instant it may be destroyed)
    "access_log": (seed_access_log, "access_log", access_log, "main", "2027-02-28T12:00:00+09:00"),
    "provisions": (seed_provision, "payment_record", provisions, "main", "2031-11-30T12:00:00+09:00"),
    "operator_access": (seed_operator_access, "operator_access", operator_access, "main", "2027-11-30T12:00:00+09:00"),
    "withdrawal_links": (seed_withdrawal_link_use, "withdrawal_link", token_uses, "main", "2026-12-01T12:00:00+09:00"),
}


# -- 1. each target at its time, not a second before ------------------------------------------
@pytest.mark.parametrize("target", sorted(TARGET_CASES))
def test_each_target_is_destroyed_exactly_when_its_retention_ends(site: Site, target: str) -> None:
    seed, retention, table, database, expiry = TARGET_CASES[target]
    seed(site)
    app = site.app
    assert count(app, table, database) == 1
    one_second_before = (datetime.fromisoformat(expiry) - timedelta(seconds=1)).isoformat()

    early = by_class(purge_json(app, "--now", one_second_before, "--class", retention))
    assert count(app, table, database) == 1  # untouched a second before
    assert early[retention]["destroyed"] == 0
    assert early[retention]["kept"] == 1
    assert early[retention]["next_expiry"] == expiry
    assert not [r for r in history(app) if r["retention"] == retention]

    on_time = by_class(purge_json(app, "--now", expiry, "--class", retention))
    assert count(app, table, database) == 0
    assert on_time[retention]["destroyed"] == 1
    assert on_time[retention]["kept"] == 0
    assert on_time[retention]["next_expiry"] is None
    assert target in on_time[retention]["targets"]
    ledger = [r for r in history(app) if r["retention"] == retention]
    assert [(r["target"], r["count"]) for r in ledger] == [(target, 1)]


def test_access_log_row_expires_three_months_after_the_request_in_kst(site: Site) -> None:
    app = site.app
    app.test_client().get("/search", headers=as_member("7"))  # 2026-11-30 12:00 KST
    text_early = run_purge(app, "--now", "2027-02-28T11:59:59+09:00", "--class", "access_log")
    assert text_early.exit_code == 0, text_early.output
    lines = text_early.stdout.splitlines()
    assert lines[0].startswith("purge at 2027-02-28T11:59:59+09:00 (run ")
    assert lines[1].split() == ["retention", "class", "destroyed", "kept", "next", "expiry"]
    assert lines[2].split() == ["access_log", "0", "1", "2027-02-28T12:00:00+09:00"]
    assert lines[-1].split() == ["total", "0"]
    assert count(app, access_log) == 1

    text_on_time = run_purge(app, "--now", "2027-02-28T12:00:00+09:00", "--class", "access_log")
    assert text_on_time.exit_code == 0, text_on_time.output
    assert text_on_time.stdout.splitlines()[2].split() == ["access_log", "1", "0", "-"]
    assert count(app, access_log) == 0


def test_archived_payments_go_five_years_after_each_payment_then_the_key_is_shredded(site: Site, clock: Any) -> None:
    app, privacy = site.app, site.privacy
    site.add_member(
        41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900), ("2026-11-30T23:30:00+09:00", 19900)]
    )
    clock.set("2026-12-10T10:00:00+09:00")
    withdraw(site)
    assert count(app, archived_records, "archive") == 2
    assert count(app, subject_keys) == 1

    def purge_payments(now: str) -> dict[str, dict[str, Any]]:
        return by_class(purge_json(app, "--now", now, "--class", "payment_record", "--class", "subject_key"))

    early = purge_payments("2029-03-15T13:59:59+09:00")
    assert early["payment_record"]["destroyed"] == 0 and early["payment_record"]["kept"] == 2
    assert early["payment_record"]["next_expiry"] == "2029-03-15T14:00:00+09:00"
    first = purge_payments("2029-03-15T14:00:00+09:00")
    assert first["payment_record"]["destroyed"] == 1 and first["payment_record"]["kept"] == 1
    assert first["payment_record"]["next_expiry"] == "2031-11-30T23:30:00+09:00"
    assert first["subject_key"]["destroyed"] == 0  # one archived record remains: the key stays
    assert count(app, subject_keys) == 1
    with app.app_context():
        assert [r["data"]["amount"] for r in privacy.export("41")["archived_records"]] == [19900]

    assert purge_payments("2031-11-30T23:29:59+09:00")["payment_record"]["destroyed"] == 0
    assert count(app, archived_records, "archive") == 1 and count(app, subject_keys) == 1

    last = purge_payments("2031-11-30T23:30:00+09:00")
    assert last["payment_record"]["destroyed"] == 1 and last["payment_record"]["kept"] == 0
    assert last["subject_key"]["destroyed"] == 1  # crypto-shredding once nothing remains
    assert count(app, archived_records, "archive") == 0
    assert count(app, subject_keys) == 0
    with app.app_context(), privacy.services.databases.main.connect() as conn:
        marks = {r.ref: r.kind for r in conn.execute(select(tombstones))}
    # Withdrawn (at the withdrawal) and key destroyed (now): both remembered, by keyed hash.
    assert set(marks[subject_ref(privacy.services.hash_key, "41")].split(",")) == {"key", "subject"}
    assert "41" not in marks  # a keyed hash, never the subject id
    ledger = [(r["retention"], r["target"], r["count"]) for r in history(app)]
    assert ("subject_key", "subject_keys", 1) in ledger
    assert sorted(c for cls, target, c in ledger if target == "archived_records") == [1, 1]


# -- output and arguments ------------------------------------------------------------------
def seed_everything(site: Site, clock: Any) -> None:
    """Two members, one withdrawn, and one record of every target, all made at START."""
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    site.add_member(42, "이서준", "other.member@example.kr", [])
    for seed in (seed_access_log, seed_provision, seed_operator_access, seed_withdrawal_link_use):
        seed(site)
    withdraw(site)  # archives one payment (expires 2029-03-15) and logs the request


def searches_kept(site: Site) -> int:
    with site.Session() as s:
        return int(s.scalar(select(func.count()).select_from(SearchHistory)) or 0)


def test_dry_run_prints_the_same_figures_and_changes_nothing(site: Site, clock: Any) -> None:
    seed_everything(site, clock)
    app = site.app
    now = "2029-03-15T14:00:00+09:00"  # everything above is past its time, and the payment too
    before = table_counts(app)
    searches = searches_kept(site)
    dry = purge_json(app, "--now", now, "--dry-run")
    assert dry["dry_run"] is True
    assert table_counts(app) == before
    # Only the withdrawal's own rows, and the addresses of its notices, destroyed once sent.
    assert [r for r in history(app) if r["executor"] not in ("withdrawal", "mail")] == []

    real = purge_json(app, "--now", now)
    assert real["dry_run"] is False

    def figures(report: dict[str, Any]) -> dict[str, tuple[int, int, str | None]]:
        return {c["retention"]: (c["destroyed"], c["kept"], c["next_expiry"]) for c in report["classes"]}

    assert figures(dry) == figures(real)
    assert dry["destroyed"] == real["destroyed"] > 0
    after = table_counts(app)
    assert after["access_log"] == 0 and after["archived_records"] == 0 and after["subject_keys"] == 0
    assert after["provisions"] == 1  # five years: still kept
    # ...and the searches of members who stay, past their three months (PIPA Art. 21(1)).
    assert searches > 0 and searches_kept(site) == 0
    assert real["destroyed"] == sum(before[k] - after[k] for k in before if k != "tombstones") + searches
    text_dry = run_purge(app, "--now", now, "--dry-run")
    assert "dry run: nothing changed" in text_dry.stdout


def test_bad_now_and_unknown_classes_exit_1_listing_every_problem_and_destroy_nothing(site: Site) -> None:
    seed_access_log(site)
    app = site.app
    before = table_counts(app)
    result = run_purge(app, "--now", "next tuesday", "--class", "nope", "--class", "tax_record")
    assert result.exit_code == 1
    assert "--now: 'next tuesday' is not an ISO-8601" in result.stderr
    assert "unknown retention class 'nope'" in result.stderr
    assert "unknown retention class 'tax_record'" in result.stderr
    assert "access_log" in result.stderr  # the message names the known classes
    assert table_counts(app) == before and history(app) == []

    # Valid --now, the one class unknown: still nothing happens.
    bad_class = run_purge(app, "--now", "2030-01-01T00:00:00+09:00", "--class", "membership")
    assert bad_class.exit_code == 1 and "unknown retention class 'membership'" in bad_class.stderr
    assert table_counts(app) == before

    usage = run_purge(app, "--batch-size", "0")
    assert usage.exit_code == 2
    assert run_purge(app, "--format", "yaml").exit_code == 2
    assert table_counts(app) == before and history(app) == []


def test_class_option_restricts_the_purge_to_those_classes(site: Site) -> None:
    seed_access_log(site)
    seed_operator_access(site)
    seed_withdrawal_link_use(site)
    app = site.app
    report = purge_json(app, "--now", "2030-01-01T00:00:00+09:00", "--class", "operator_access")
    assert list(by_class(report)) == ["operator_access"]
    assert by_class(report)["operator_access"]["destroyed"] == 1
    assert count(app, operator_access) == 0
    assert count(app, access_log) == 1 and count(app, token_uses) == 1  # other classes untouched
    assert {r["retention"] for r in history(app)} == {"operator_access"}


def test_a_naive_now_is_read_on_the_policy_calendar(site: Site) -> None:
    seed_access_log(site)
    early = by_class(purge_json(site.app, "--now", "2027-02-28T11:59:59", "--class", "access_log"))
    assert early["access_log"]["destroyed"] == 0
    late = by_class(purge_json(site.app, "--now", "2027-02-28T03:00:00Z", "--class", "access_log"))
    assert late["access_log"]["destroyed"] == 1


# -- 2. the ledger ---------------------------------------------------------------------------
def test_ledger_counts_every_destruction_per_run_and_class_without_personal_data(site: Site, clock: Any) -> None:
    seed_everything(site, clock)
    app = site.app
    before = table_counts(app)
    searches = searches_kept(site)
    clock.set("2031-12-01T09:00:00+09:00")
    report = purge_json(app, "--executor", "officer-kim")  # the clock: everything expired
    after = table_counts(app)
    # The privacy tables' rows, and the searches of members who stay (3 months: PIPA Art. 21(1)).
    destroyed_rows = sum(before[k] - after[k] for k in before if k != "tombstones") + searches
    assert searches > 0 and searches_kept(site) == 0
    assert destroyed_rows == report["destroyed"] > 0

    withdrawal_rows = [r for r in history(app) if r["executor"] == "withdrawal"]
    assert {r["target"] for r in withdrawal_rows} >= {"host:users", "host:payments"}  # the erasure's own rows
    rows = [r for r in history(app) if r["run_id"] == report["run_id"]]
    assert sum(r["count"] for r in rows) == destroyed_rows
    for c in report["classes"]:
        assert sum(r["count"] for r in rows if r["retention"] == c["retention"]) == c["destroyed"]
    expected_classes = {"access_log", "payment_record", "operator_access", "withdrawal_link", "subject_key"}
    assert {r["retention"] for r in rows} == expected_classes
    for r in rows:
        assert r["ran_at"] == "2031-12-01T09:00:00+09:00"
        assert r["executor"] == "officer-kim"
        assert r["statute"] and r["method"] and r["count"] > 0
    payment = next(r for r in rows if r["retention"] == "payment_record")
    assert "전자상거래" in payment["statute"]
    # One row per (run, class, target).
    assert len({(r["run_id"], r["retention"], r["target"]) for r in rows}) == len(rows)

    # No personal data: no subject id, email, name, IP or path in any value.
    for r in rows:
        for key, value in r.items():
            if key in ("run_id", "ran_at", "purge_now", "count"):
                continue
            for probe in (PROBE_EMAIL, "김민지", "127.0.0.1", "/search", "nicepay"):
                assert probe not in str(value), (key, value)
            assert str(value) not in ("41", "42", "7"), (key, value)
    columns = set(destructions.c.keys())
    assert columns == {
        "id",
        "run_id",
        "ran_at",
        "purge_now",
        "retention",
        "statute",
        "target",
        "count",
        "method",
        "executor",
        "items",
        "approved_by",
    }


def test_small_batches_still_give_one_ledger_row_per_run_class_and_target(site: Site) -> None:
    app = site.app
    client = app.test_client()
    for n in range(23):
        client.get("/search", headers=as_member(str(n)))
    report = purge_json(app, "--now", "2027-03-01T00:00:00+09:00", "--batch-size", "7", "--class", "access_log")
    assert by_class(report)["access_log"]["destroyed"] == 23
    assert count(app, access_log) == 0
    rows = history(app)
    assert [(r["run_id"], r["retention"], r["target"], r["count"]) for r in rows] == [
        (report["run_id"], "access_log", "access_log", 23)
    ]


def test_history_in_text_and_json_and_on_the_officer_page(site: Site) -> None:
    app = site.app
    empty = run_purge(app, "--history")
    assert empty.exit_code == 0 and "the destruction ledger is empty" in empty.stdout
    seed_access_log(site)
    seed_operator_access(site)
    report = purge_json(app, "--now", "2030-01-01T00:00:00+09:00", "--executor", "officer-kim")

    as_json = run_purge(app, "--history", "--format", "json")
    assert as_json.exit_code == 0
    rows = json.loads(as_json.stdout)
    assert {(r["retention"], r["count"]) for r in rows} == {("access_log", 1), ("operator_access", 1)}
    assert all(r["run_id"] == report["run_id"] for r in rows)

    as_text = run_purge(app, "--history")
    assert as_text.exit_code == 0
    lines = as_text.stdout.splitlines()
    assert len(lines) == 2
    assert any(line.split()[1:3] == ["access_log", "1"] for line in lines)
    assert all("officer-kim" in line and f"run={report['run_id'][:8]}" in line for line in lines)
    assert count(app, access_log) == 0  # --history destroys nothing and logs nothing more

    client = app.test_client()
    assert client.get("/privacy/officer/destructions", headers=as_member("7")).status_code == 403
    assert client.get("/privacy/officer/destructions", headers={"Accept": "application/json"}).status_code == 403
    officer = {"X-Test-Officer": "officer-kim"}
    page = client.get("/privacy/officer/destructions", headers=officer)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "파기 기록" in html and "access_log" in html and "operator_access" in html
    assert report["run_id"][:8] in html
    data = client.get("/privacy/officer/destructions", headers={**officer, "Accept": "application/json"}).get_json()
    assert {(r["retention"], r["count"]) for r in data["destructions"]} == {("access_log", 1), ("operator_access", 1)}


# -- 3. irrecoverable --------------------------------------------------------------------------
def raw_bytes(path: str | Path) -> bytes:
    """The bytes of an SQLite database file and of its write-ahead log, if any."""
    path = Path(path)
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


def test_secure_delete_is_what_makes_the_file_scan_meaningful(tmp_path: Path) -> None:
    """Control: a plain SQLite DELETE leaves the value in the file, secure_delete does not."""
    for secure, expect_left in ((False, True), (True, False)):
        path = tmp_path / f"control-{secure}.sqlite"
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA secure_delete={'ON' if secure else 'OFF'}")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        db.executemany("INSERT INTO t (v) VALUES (?)", [(f"filler {n}",) for n in range(50)] + [(PROBE_PATH,)])
        db.commit()
        db.execute("DELETE FROM t WHERE v = ?", (PROBE_PATH,))
        db.commit()
        db.close()
        assert (PROBE_PATH.encode() in raw_bytes(path)) is expect_left


def test_purged_access_log_values_are_gone_from_the_sqlite_files(sqlite_site: Site) -> None:
    app, privacy = sqlite_site.app, sqlite_site.privacy
    client = app.test_client()
    for n in range(30):
        client.get(f"/search/other-{n}", headers=as_member(str(n)))
    client.get(f"/search/{PROBE_PATH}", headers=as_member("7"))
    assert count(app, access_log) == 31
    main_file = privacy.services.databases.main_url.database
    assert PROBE_PATH.encode() in raw_bytes(main_file)  # control: the value is there before

    report = purge_json(app, "--now", "2027-03-01T00:00:00+09:00", "--class", "access_log")
    assert by_class(report)["access_log"]["destroyed"] == 31
    assert PROBE_PATH.encode() not in raw_bytes(main_file)
    assert not Path(f"{main_file}-wal").exists() or Path(f"{main_file}-wal").stat().st_size == 0
    methods = {r["method"] for r in history(app)}
    assert methods == {"DELETE; SQLite secure_delete=ON (overwritten) + WAL checkpoint(TRUNCATE)"}


def test_withdrawal_erasure_leaves_no_trace_in_the_sqlite_host_database(sqlite_site: Site, tmp_path: Path) -> None:
    site = sqlite_site
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    for n in range(20):
        site.add_member(100 + n, f"member {n}", f"member{n}@example.kr", [])
    host_file = tmp_path / "host.sqlite"
    assert PROBE_EMAIL.encode() in raw_bytes(host_file)  # control
    withdraw(site)
    assert site.count(User, 41) == 0 and site.count(User, 100) == 1
    host = raw_bytes(host_file)
    assert PROBE_EMAIL.encode() not in host
    assert b"card ****4242 #0" not in host
    archive_file = site.privacy.services.databases.archive_url.database
    assert PROBE_EMAIL.encode() not in raw_bytes(archive_file) and b"4242" not in raw_bytes(archive_file)


def test_after_the_key_is_shredded_archived_ciphertext_cannot_be_decrypted(sqlite_site: Site, clock: Any) -> None:
    from cryptography.exceptions import InvalidTag

    from flask_casenote_privacy.storage.crypto import decrypt

    site = sqlite_site
    app, privacy = site.app, site.privacy
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    clock.set("2026-12-10T10:00:00+09:00")
    withdraw(site)
    with app.app_context(), privacy.services.databases.archive.connect() as conn:
        kept = conn.execute(select(archived_records)).mappings().one()
    with app.app_context(), privacy.services.databases.main.connect() as conn:
        old_key = bytes(conn.execute(select(subject_keys.c.key)).scalar_one())
    purge_json(app, "--now", "2029-03-15T14:00:00+09:00")
    assert count(app, subject_keys) == 0
    archive_raw = raw_bytes(privacy.services.databases.archive_url.database)
    assert bytes(kept["ciphertext"]) not in archive_raw
    main_raw = raw_bytes(privacy.services.databases.main_url.database)
    assert old_key not in main_raw  # the key bytes are overwritten too
    # A surviving copy of the ciphertext (a backup) opened with the old key before, and with
    # nothing else: the key was the only way in, and it is gone from the files.
    associated = f"{kept['source']}\x1f{kept['record_key']}\x1f{kept['retention']}".encode()
    assert b"9900" in decrypt(old_key, bytes(kept["nonce"]), bytes(kept["ciphertext"]), associated)
    with pytest.raises(InvalidTag):
        decrypt(bytes(32), bytes(kept["nonce"]), bytes(kept["ciphertext"]), associated)


def test_vacuum_option_runs_on_every_backend(site: Site) -> None:
    app, privacy = site.app, site.privacy
    seed_access_log(site)
    result = run_purge(app, "--now", "2030-01-01T00:00:00+09:00", "--vacuum")
    assert result.exit_code == 0, result.output
    assert count(app, access_log) == 0
    if privacy.services.databases.main.dialect.name == "postgresql":
        with app.app_context(), privacy.services.databases.main.connect() as conn:
            deadline = time.monotonic() + 10
            while True:
                # Partitioned (main_0015): the parent has no storage, its months are vacuumed.
                vacuumed = conn.execute(
                    text(
                        "SELECT max(last_vacuum) FROM pg_stat_user_tables WHERE relname = 'privacy_access_log'"
                        " OR relname LIKE 'privacy_access_log_p%' OR relname = 'privacy_access_log_default'"
                    )
                ).scalar()
                if vacuumed is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
                conn.rollback()
        assert vacuumed is not None


# -- 4. restored backups --------------------------------------------------------------------
def checkpoint(engine: Any) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def restore(backup: Path, target: str | Path, engine: Any) -> None:
    engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, target)


def test_restored_archive_backup_is_destroyed_again_from_the_key_tombstone(
    sqlite_site: Site, clock: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    app, privacy = site.app, site.privacy
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    clock.set("2026-12-10T10:00:00+09:00")
    withdraw(site)
    archive_file = privacy.services.databases.archive_url.database
    checkpoint(privacy.services.databases.archive)
    backup = tmp_path / "archive-backup.sqlite"
    shutil.copyfile(archive_file, backup)

    first = by_class(purge_json(app, "--now", "2029-03-15T14:00:00+09:00"))
    assert first["payment_record"]["destroyed"] == 1 and first["subject_key"]["destroyed"] == 1

    restore(backup, archive_file, privacy.services.databases.archive)
    assert count(app, archived_records, "archive") == 1  # the ciphertext came back...
    with app.app_context():
        assert [r["data"] for r in privacy.export("41")["archived_records"]] == [None]  # ...unreadable

    again = purge_json(app, "--now", "2029-03-15T14:00:01+09:00")
    assert by_class(again)["payment_record"]["destroyed"] == 1
    assert count(app, archived_records, "archive") == 0
    assert count(app, subject_keys) == 0
    rows = [r for r in history(app) if r["run_id"] == again["run_id"]]
    assert [(r["retention"], r["target"], r["count"]) for r in rows] == [("payment_record", "archived_records", 1)]
    assert "tombstone" in rows[0]["method"]
    assert PROBE_EMAIL.encode() not in raw_bytes(archive_file)


def test_restored_host_backup_does_not_resurrect_a_withdrawn_member(
    sqlite_site: Site, clock: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    app = site.app
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    site.add_member(42, "이서준", "other.member@example.kr", [("2025-01-02T10:00:00+09:00", 9900)])
    host_file = tmp_path / "host.sqlite"
    site.engine.dispose()
    backup = tmp_path / "host-backup.sqlite"
    shutil.copyfile(host_file, backup)
    clock.set("2026-12-10T10:00:00+09:00")
    withdraw(site)
    assert site.count(User, 41) == 0

    restore(backup, host_file, site.engine)
    assert site.count(User, 41) == 1 and site.count(Payment, 41) == 1  # the backup brought 41 back
    assert PROBE_EMAIL.encode() in raw_bytes(host_file)

    report = purge_json(app, "--now", "2026-12-10T10:00:01+09:00")
    assert site.count(User, 41) == 0 and site.count(SearchHistory, 41) == 0
    assert site.count(Payment, 41) == 0  # archived at the withdrawal; no plain copy comes back
    assert site.count(User, 42) == 1 and site.count(Payment, 42) == 1  # the others are untouched
    assert PROBE_EMAIL.encode() not in raw_bytes(host_file)
    membership = [r for r in history(app) if r["run_id"] == report["run_id"] and r["retention"] == "membership"]
    assert membership and all("tombstone" in r["method"] for r in membership)
    assert by_class(report)["membership"]["destroyed"] == sum(r["count"] for r in membership)
    with app.app_context():
        assert len(site.privacy.export("41")["archived_records"]) == 1  # the legal copy stays


def host_snapshot(site: Site, user_id: int) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The member's host rows exactly as stored (ids included), parents first: what a
    backup holds."""
    tables = [User.__table__, SearchHistory.__table__, Payment.__table__]
    with site.engine.connect() as conn:
        return [
            (
                t,
                [
                    dict(r)
                    for r in conn.execute(
                        select(t).where((t.c.id if t is User.__table__ else t.c.user_id) == user_id)
                    ).mappings()
                ],
            )
            for t in tables
        ]


def host_restore(site: Site, snapshot: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    with site.engine.begin() as conn:
        for table, rows in snapshot:
            if rows:
                conn.execute(insert(table), rows)


def test_reinserted_rows_of_destroyed_subjects_are_destroyed_again_on_every_backend(site: Site, clock: Any) -> None:
    """A restore on a server database, simulated by putting the destroyed rows back."""
    app, privacy = site.app, site.privacy
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    clock.set("2026-12-10T10:00:00+09:00")
    backup = host_snapshot(site, 41)
    withdraw(site)
    with app.app_context(), privacy.services.databases.main.connect() as conn:
        key_row = dict(conn.execute(select(subject_keys)).mappings().one())
    with app.app_context(), privacy.services.databases.archive.connect() as conn:
        record_row = dict(conn.execute(select(archived_records)).mappings().one())
    purge_json(app, "--now", "2029-03-15T14:00:00+09:00")
    assert count(app, subject_keys) == 0 and count(app, archived_records, "archive") == 0

    # "Restore": the key, the archived record and the member's host rows come back.
    with app.app_context(), privacy.services.databases.main.begin() as conn:
        conn.execute(insert(subject_keys).values(key_row))
    with app.app_context(), privacy.services.databases.archive.begin() as conn:
        conn.execute(insert(archived_records).values(record_row))
    host_restore(site, [(t, rows) for t, rows in backup if t is not Payment.__table__])

    report = purge_json(app, "--now", "2029-03-15T14:00:01+09:00")
    assert count(app, subject_keys) == 0
    assert count(app, archived_records, "archive") == 0
    assert site.count(User, 41) == 0 and site.count(SearchHistory, 41) == 0
    classes = by_class(report)
    assert classes["subject_key"]["destroyed"] == 1
    assert classes["payment_record"]["destroyed"] == 1
    assert classes["membership"]["destroyed"] == 2
    rows = [r for r in history(app) if r["run_id"] == report["run_id"]]
    assert sum(r["count"] for r in rows) == report["destroyed"] == 4
    assert all("tombstone" in r["method"] for r in rows)


def test_a_changed_hash_key_stops_the_purge_before_it_shreds_any_key(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Another PRIVACY_HASH_KEY matches no archived record: shredding then would make
    records the law still keeps unreadable. The purge refuses, and nothing changes."""
    from sqlalchemy import func, select

    from flask_casenote_privacy.storage.tables import subject_keys

    urls = (
        URL.create("sqlite", database=str(tmp_path / "m.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "a.sqlite")),
    )
    site = build_site(make_app, urls, tmp_path, PRIVACY_CSRF=False, PRIVACY_HASH_KEY="first key")
    site.add_member(41, "김민지", "hash.key@example.kr", [("2026-11-30T23:30:00+09:00", 19900)])
    site.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "41"})
    site.close()
    changed = build_site(make_app, urls, tmp_path, PRIVACY_CSRF=False, PRIVACY_HASH_KEY="second key")
    result = changed.app.test_cli_runner().invoke(args=["privacy", "purge", "--now", "2027-01-01T00:00:00+09:00"])
    assert result.exit_code == 1
    assert "PRIVACY_HASH_KEY" in result.output
    with changed.app.app_context(), changed.privacy.services.databases.main.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subject_keys)).scalar_one() == 1
    changed.close()


def test_a_new_member_given_a_withdrawn_members_id_is_not_erased_by_the_tombstone(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    """Hosts reuse ids (SQLite reuses the highest rowid). A tombstone re-applies the
    destruction of restored copies only: the new member's own rows stay."""
    site = build_site(make_app, database_urls, tmp_path, PRIVACY_CSRF=False)
    site.add_member(41, "김민지", "first.person@example.kr", [("2026-11-30T23:30:00+09:00", 19900)])
    backup = host_snapshot(site, 41)
    site.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "41"})
    assert site.count(User, 41) == 0
    site.add_member(41, "박새롬", "second.person@example.kr", [])  # a different person, the same id
    result = site.app.test_cli_runner().invoke(args=["privacy", "purge", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert site.count(User, 41) == 1
    assert site.count(SearchHistory, 41) == 1
    # ...while a restored copy of the first member's rows is erased again.
    with site.Session.begin() as s:  # the backup replaces the database: the newcomer's rows go
        s.query(SearchHistory).filter_by(user_id=41).delete()
        s.query(User).filter_by(id=41).delete()
    host_restore(site, backup)
    result = site.app.test_cli_runner().invoke(args=["privacy", "purge", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert site.count(User, 41) == 0
    assert site.count(Payment, 41) == 0
    site.close()
