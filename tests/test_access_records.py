"""Operator access records (접속기록, 개인정보의 안전성 확보조치 기준 §8) on SQLite,
PostgreSQL and MariaDB: a reason on every export, one or two years by the policy's
scale, a hash chain that `flask privacy audit verify` checks (an edited or deleted
record is found; the purge keeps it verifiable; concurrent writers never fork it),
and the monthly review that flags what needs a look and records who reviewed it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask
from sqlalchemy import delete, select, update

from flask_casenote_privacy import ConfigurationError
from flask_casenote_privacy.rights.audit import record_operator_access
from flask_casenote_privacy.storage.tables import access_reviews, destructions, operator_access
from tests.conftest import Clock
from tests.member_site import Site

OFFICER = {"X-Test-Officer": "officer.kang", "Accept": "application/json"}
CASENOTE = Path(__file__).resolve().parents[1] / "flask_casenote_privacy" / "presets" / "casenote.toml"


def cli(app: Flask, *args: str) -> Any:
    with structlog.testing.capture_logs():
        return app.test_cli_runner().invoke(args=["privacy", *args])


def rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(operator_access).order_by(operator_access.c.id)).mappings()]


def write(app: Flask, n: int, *, operator: str = "officer.kim", task: str = "view request", **kw: Any) -> None:
    services = app.extensions["privacy"].services
    for i in range(n):
        record_operator_access(services, operator=operator, task=f"{task} {i}", subject=str(40 + i), **kw)


def large_scale_policy(tmp_path: Path) -> str:
    path = tmp_path / "large.toml"
    path.write_text(CASENOTE.read_text(encoding="utf-8") + "\n[service]\nsubjects_at_least = 50000\n", encoding="utf-8")
    return str(path)


# -- a reason on every export ------------------------------------------------------------
def test_an_export_without_a_reason_is_refused_and_exports_nothing(make_site: Callable[..., Site]) -> None:
    site = make_site()
    client = site.app.test_client()
    for url in ("/privacy/officer/subjects/41/export", "/privacy/officer/subjects/41/export?reason=%20%20"):
        answer = client.get(url, headers=OFFICER)
        assert answer.status_code == 400, url
        assert "reason" in answer.get_json()["message"]
        assert "김민지" not in answer.get_data(as_text=True)
    assert rows(site.app) == []
    refused = cli(site.app, "export", "41")
    assert refused.exit_code == 1 and "reason" in refused.stderr and refused.stdout == ""
    assert rows(site.app) == []

    answer = client.get("/privacy/officer/subjects/41/export?reason=열람 요구 처리", headers=OFFICER)
    assert answer.status_code == 200 and answer.get_json()["subject"] == "41"
    done = cli(site.app, "export", "41", "--reason", "분쟁 대응", "--officer", "officer.lee")
    assert done.exit_code == 0, done.stderr
    assert [(r["operator"], r["task"], r["reason"]) for r in rows(site.app)] == [
        ("officer.kang", "export subject data", "열람 요구 처리"),
        ("officer.lee", "export subject data (cli)", "분쟁 대응"),
    ]


# -- one or two years --------------------------------------------------------------------
def test_access_records_are_kept_two_years_when_the_policy_says_50000_subjects(
    make_app: Callable[..., Flask], database_urls: Any, clock: Clock, tmp_path: Path
) -> None:
    main, archive = database_urls
    clock.set("2026-11-30T10:00:00+09:00")
    app = make_app(
        PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_POLICY=large_scale_policy(tmp_path)
    )
    write(app, 2)
    assert {r["expires_at"].isoformat()[:10] for r in rows(app)} == {"2028-11-30"}
    purged = cli(app, "purge", "--now", "2028-01-01T00:00:00+09:00", "--format", "json")
    assert json.loads(purged.stdout)["destroyed"] == 0  # one year later they are still kept
    purged = cli(app, "purge", "--now", "2028-11-30T10:00:01+09:00", "--approved-by", "officer.kang")
    assert purged.exit_code == 0 and rows(app) == []
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        ledger = (
            conn.execute(select(destructions).where(destructions.c.retention == "operator_access")).mappings().one()
        )
    assert (ledger["count"], ledger["approved_by"]) == (2, "officer.kang")
    assert ledger["items"] == "operator, accessed_at, ip, subject, task, reason"
    assert cli(app, "audit", "verify").exit_code == 0


def test_access_records_are_kept_one_year_otherwise(make_app: Callable[..., Flask], clock: Clock) -> None:
    clock.set("2026-11-30T10:00:00+09:00")
    app = make_app()
    write(app, 1)
    assert rows(app)[0]["expires_at"].isoformat()[:10] == "2027-11-30"


# -- the hash chain ----------------------------------------------------------------------
def test_verify_finds_an_edited_or_deleted_record(backend_app: Flask) -> None:
    app = backend_app
    write(app, 5)
    ok = cli(app, "audit", "verify", "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) | {} == {
        "ok": True, "checked": 5, "anchor_seq": 0, "head_seq": 5, "broken_id": None, "broken_seq": None, "problem": None
    }  # fmt: skip
    engine = app.extensions["privacy"].services.databases.main
    third = rows(app)[2]
    with engine.begin() as conn:  # someone with database access changes whose data was seen
        conn.execute(update(operator_access).where(operator_access.c.id == third["id"]).values(subject="99"))
    broken = cli(app, "audit", "verify")
    assert broken.exit_code == 1
    assert "BROKEN at record 3" in broken.stdout and "altered" in broken.stdout
    with engine.begin() as conn:
        conn.execute(
            update(operator_access).where(operator_access.c.id == third["id"]).values(subject=third["subject"])
        )
    assert cli(app, "audit", "verify").exit_code == 0

    with engine.begin() as conn:  # a record removed from the middle
        conn.execute(delete(operator_access).where(operator_access.c.id == rows(app)[1]["id"]))
    broken = json.loads(cli(app, "audit", "verify", "--format", "json").stdout)
    assert (broken["ok"], broken["broken_seq"]) == (False, 2) and "missing" in broken["problem"]


def test_verify_finds_the_last_record_deleted(backend_app: Flask) -> None:
    write(backend_app, 3)
    with backend_app.extensions["privacy"].services.databases.main.begin() as conn:
        conn.execute(delete(operator_access).where(operator_access.c.seq == 3))
    broken = cli(backend_app, "audit", "verify")
    assert broken.exit_code == 1 and "records 3 to 3 are missing" in broken.stdout


def test_the_purge_keeps_the_chain_verifiable(backend_app: Flask, clock: Clock) -> None:
    app = backend_app
    clock.set("2026-01-10T10:00:00+09:00")
    write(app, 3)
    clock.set("2026-07-10T10:00:00+09:00")
    write(app, 2, operator="officer.lee")
    purged = cli(app, "purge", "--now", "2027-02-01T00:00:00+09:00", "--class", "operator_access", "--batch-size", "2")
    assert purged.exit_code == 0, purged.stderr
    assert [r["seq"] for r in rows(app)] == [4, 5]
    check = json.loads(cli(app, "audit", "verify", "--format", "json").stdout)
    assert (check["ok"], check["checked"], check["anchor_seq"]) == (True, 2, 3)
    write(app, 1)
    assert cli(app, "audit", "verify").exit_code == 0


def test_concurrent_writers_never_fork_the_chain(backend_app: Flask) -> None:
    services = backend_app.extensions["privacy"].services
    errors: list[BaseException] = []

    def officer(n: int) -> None:
        try:
            for i in range(8):
                record_operator_access(services, operator=f"officer.{n}", task=f"view {i}", subject=str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=officer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r["seq"] for r in rows(backend_app)) == list(range(1, 33))
    assert cli(backend_app, "audit", "verify").exit_code == 0


# -- the monthly review ------------------------------------------------------------------
def test_the_monthly_review_flags_and_records_who_reviewed_it(backend_app: Flask, clock: Clock) -> None:
    app = backend_app
    clock.set("2026-10-31T10:00:00+09:00")
    write(app, 1)  # October: not in November's review
    clock.set("2026-11-03T10:00:00+09:00")  # a Tuesday, in working hours
    write(app, 11, task="export subject data", reason="열람 요구")  # 11 exports in a day: bulk
    write(app, 2, operator="officer.lee")
    clock.set("2026-11-07T23:30:00+09:00")  # Saturday night in Seoul (14:30 UTC)
    write(app, 1, operator="officer.lee")
    clock.set("2026-12-01T09:30:00+09:00")

    review = json.loads(cli(app, "audit", "access", "--month", "2026-11", "--format", "json").stdout)
    assert len(review["records"]) == 14
    assert review["counts"] == {"off_hours": 1, "bulk_export": 11, "many_subjects": 0, "no_reason": 0}
    findings = {(f["flag"], f["operator"], f["day"]) for f in review["findings"]}
    assert findings == {
        ("bulk_export", "officer.kim", "2026-11-03"),
        ("off_hours", "officer.lee", "2026-11-07"),
    }
    assert review["reviews"] == [] and review["chain"]["ok"]

    bad = cli(app, "audit", "access", "--month", "2026-13", "--sign")
    assert bad.exit_code == 1 and "month" in bad.stderr and "reviewer" in bad.stderr
    signed = cli(app, "audit", "access", "--month", "2026-11", "--sign", "--reviewer", "officer.kang")
    assert signed.exit_code == 0, signed.stderr
    assert "reviewed by officer.kang at 2026-12-01T09:30:00+09:00 (14 records, 12 flagged)" in signed.stdout
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        (row,) = conn.execute(select(access_reviews)).mappings().all()
    assert (row["month"], row["reviewer"], row["records"], row["flagged"]) == ("2026-11", "officer.kang", 14, 12)
    assert json.loads(row["summary"])["counts"]["off_hours"] == 1


def test_review_thresholds_are_configured_and_checked(make_app: Callable[..., Flask], clock: Clock) -> None:
    clock.set("2026-11-03T10:00:00+09:00")
    app = make_app(PRIVACY_ACCESS_REVIEW={"working_hours": "11:00-18:00", "subjects_per_day": 3})
    write(app, 4)
    review = json.loads(cli(app, "audit", "access", "--month", "2026-11", "--format", "json").stdout)
    assert review["counts"]["off_hours"] == 4 and review["counts"]["many_subjects"] == 4
    with pytest.raises(ConfigurationError) as error:
        make_app(PRIVACY_ACCESS_REVIEW={"working_hours": "9-18", "working_days": "fri-xyz", "exports": 1})
    message = str(error.value)
    assert "working_hours" in message and "working_days" in message and "'exports'" in message


def test_the_officer_reviews_the_month_on_the_web(make_site: Callable[..., Site], clock: Clock) -> None:
    site = make_site(start="2026-11-07T23:30:00+09:00")
    client = site.app.test_client()
    token = client.get("/privacy/consent", headers={"Accept": "application/json"}).get_json()["csrf_token"]
    client.get("/privacy/officer/subjects/41/export?reason=late-night", headers=OFFICER)
    page = client.get("/privacy/officer/access-review?month=2026-11", headers={"X-Test-Officer": "officer.kang"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "late-night" in html and "업무시간 외" in html
    assert client.get("/privacy/officer/access-review?month=11-2026", headers=OFFICER).status_code == 400
    assert client.get("/privacy/officer/access-review", headers={"X-Test-Subject": "41"}).status_code == 403
    signed = client.post(
        "/privacy/officer/access-review", data={"month": "2026-11", "csrf_token": token}, headers=OFFICER
    )
    assert signed.status_code == 201
    assert [(r["reviewer"], r["month"]) for r in signed.get_json()["reviews"]] == [("officer.kang", "2026-11")]


def test_the_scheduled_purge_names_its_configured_approver(make_app: Callable[..., Flask], clock: Clock) -> None:
    clock.set("2025-11-01T10:00:00+09:00")
    app = make_app(PRIVACY_PURGE_APPROVER="개인정보 보호책임자 강효은")
    write(app, 2)
    clock.set("2026-11-02T10:00:00+09:00")
    result = app.test_cli_runner().invoke(args=["privacy", "worker", "--once", "--format", "json"])
    assert result.exit_code == 0, result.output
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        ledger = (
            conn.execute(select(destructions).where(destructions.c.retention == "operator_access")).mappings().one()
        )
    assert (ledger["count"], ledger["executor"], ledger["approved_by"]) == (2, "worker", "개인정보 보호책임자 강효은")
    assert cli(app, "audit", "verify").exit_code == 0


def test_the_service_block_is_checked() -> None:
    from flask_casenote_privacy import PolicyError
    from flask_casenote_privacy.policy.loader import parse_policy

    text = CASENOTE.read_text(encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        parse_policy(text + '\n[service]\nsubjects_at_least = "many"\nlarge_scale = "yes"\nusers = 3\n')
    assert len(error.value.problems) == 3
    assert parse_policy(text + "\n[service]\nlarge_scale = true\n").service.access_record_period.iso == "P2Y"
    assert parse_policy(text + "\n[service]\nsubjects_at_least = 49999\n").service.access_record_period.iso == "P1Y"
    assert parse_policy(text).digest == parse_policy(text + "\n[service]\n").digest  # no block, no change


def test_the_request_page_asks_for_the_reason_of_an_export(make_site: Callable[..., Site]) -> None:
    site = make_site()
    made = cli(
        site.app,
        "requests",
        "register",
        "--subject",
        "41",
        "--kind",
        "access",
        "--scope",
        "all",
        "--channel",
        "written",
    )
    request_id = json.loads(made.stdout)["id"]
    page = site.app.test_client().get(f"/privacy/officer/requests/{request_id}", headers={"X-Test-Officer": "kang"})
    html = page.get_data(as_text=True)
    assert 'id="export-form"' in html and 'name="reason" required' in html
    assert f'value="access request {request_id}"' in html
