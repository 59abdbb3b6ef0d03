"""Withdrawal end to end on SQLite, PostgreSQL and MariaDB: the host rows go, the
payments move to the archive encrypted for five years, the member is told."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import URL

from flask_casenote_privacy.rights.requests import execute_request, register_request
from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.tables import requests as requests_table
from flask_casenote_privacy.storage.tables import subject_keys
from tests.helpers import IPHONE, access_rows, ledger_rows
from tests.member_site import PROBE_EMAIL, Payment, SearchHistory, Site, User, build_site, crash_first_erase


@pytest.fixture
def site(make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, smtp, clock) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    clock.set("2026-12-10T10:00:00+09:00")
    site = build_site(make_app, database_urls, tmp_path, smtp, PRIVACY_CSRF=False)
    site.add_member(
        41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900), ("2026-11-30T23:30:00+09:00", 19900)]
    )
    site.add_member(42, "이서준", "other.member@example.kr", [("2025-01-02T10:00:00+09:00", 9900)])
    yield site
    site.close()


def as_member(subject: str = "41") -> dict[str, str]:
    return {"X-Test-Subject": subject, "User-Agent": IPHONE}


def test_member_with_payments_withdraws_end_to_end(site: Site, smtp) -> None:  # type: ignore[no-untyped-def]
    _, _, outbox = smtp
    app, privacy = site.app, site.privacy
    client = app.test_client()
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers=as_member())
    client.get("/search", headers=as_member())
    with app.app_context():
        privacy.record_provision("41", recipient="nicepay", items=["card_number", "card_expiry"])

    # The export before withdrawal shows everything held.
    before = client.get("/privacy/export", headers=as_member()).get_json()
    assert before["sources"]["users"]["records"][0]["email"] == PROBE_EMAIL
    assert len(before["sources"]["payments"]["records"]) == 2
    assert before["sources"]["search_history"]["records"][0]["query"] == "이혼 소송 판례"
    assert [c["purpose"] for c in before["consent_history"]] == ["service_improvement"]
    assert {a["path"] for a in before["access_log"]} >= {"/search"}
    assert before["provisions"][0]["recipient"] == "nicepay"
    assert before["archived"] == []

    answer = client.post("/privacy/withdraw", json={"scope": "all"}, headers=as_member())
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "completed"
    assert body["request_id"]
    retained = {r["retention"]: r for r in body["retained"]}
    assert retained["payment_record"]["count"] == 2
    assert retained["payment_record"]["until"] == "2031-11-30T23:30:00+09:00"  # the later payment + 5 years
    assert "전자상거래" in retained["payment_record"]["statute"]["ko"]
    assert retained["access_log"]["count"] >= 2
    assert retained["access_log"]["until"].startswith("2027-03-10")

    # The host rows are gone; the other member is untouched.
    assert site.count(User, 41) == 0
    assert site.count(Payment, 41) == 0
    assert site.count(SearchHistory, 41) == 0
    assert site.count(User, 42) == 1 and site.count(Payment, 42) == 1

    # The archive holds the payments encrypted, each expiring 5 years after its own date.
    with app.app_context(), privacy.services.databases.archive.connect() as conn:
        rows = conn.execute(select(archived_records).order_by(archived_records.c.occurred_at)).mappings().all()
    assert [r["retention"] for r in rows] == ["payment_record", "payment_record"]
    seoul = privacy.policy.tz
    assert [r["expires_at"].astimezone(seoul).isoformat() for r in rows] == [
        "2029-03-15T14:00:00+09:00",
        "2031-11-30T23:30:00+09:00",
    ]
    for row in rows:
        blob = bytes(row["ciphertext"])
        assert PROBE_EMAIL.encode() not in blob and b"4242" not in blob and b"9900" not in blob
        assert "41" not in row["subject_ref"]  # a keyed hash, not the subject id
    # ...and the key that opens them is in the main database, not the archive.
    with app.app_context(), privacy.services.databases.main.connect() as conn:
        assert conn.execute(select(subject_keys.c.subject)).scalars().all() == ["41"]

    # The member can still read what is kept (열람 after withdrawal is their right too).
    after = client.get("/privacy/export", headers=as_member()).get_json()
    assert after["sources"]["users"]["records"] == []
    assert sorted(r["data"]["amount"] for r in after["archived_records"]) == [9900, 19900]

    # The member was told: registered, then completed, Korean first with English below.
    messages = outbox.wait(2)
    assert [m["to"] for m in messages] == [[PROBE_EMAIL], [PROBE_EMAIL]]
    assert "동의철회 접수" in messages[0]["subject"]
    done = messages[1]["body"]
    assert "파기했습니다" in done and "destroyed" in done
    assert done.index("파기") < done.index("destroyed")
    assert "2031-11-30" in done and "대금결제" in done

    # The address is not kept once the member has been told.
    with app.app_context(), privacy.services.databases.main.connect() as conn:
        assert conn.execute(select(requests_table.c.notify_to)).scalars().all() == [None]
    # The consents were withdrawn in the ledger, and capture stops for them.
    assert [(r["purpose"], r["granted"], r["channel"]) for r in ledger_rows(app)][-2:] == [
        ("service_improvement", False, "withdrawal"),
        ("statistics_advertising", False, "withdrawal"),
    ] or [(r["purpose"], r["granted"]) for r in ledger_rows(app)][-1] == ("service_improvement", False)


def test_sqlite_archive_file_holds_no_plaintext(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    urls = (
        URL.create("sqlite", database=str(tmp_path / "main.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "archive.sqlite")),
    )
    site = build_site(make_app, urls, tmp_path, PRIVACY_CSRF=False)
    site.add_member(41, "김민지", PROBE_EMAIL, [("2024-03-15T14:00:00+09:00", 9900)])
    client = site.app.test_client()
    client.post("/privacy/withdraw", json={"scope": "all"}, headers=as_member())
    raw = Path(site.privacy.services.databases.archive_url.database).read_bytes()
    assert site.count(User, 41) == 0
    for probe in (PROBE_EMAIL.encode(), "김민지".encode(), b"card ****4242"):
        assert probe not in raw
    site.close()


def test_withdrawing_only_optional_purposes_keeps_membership_and_erases_what_they_alone_used(site: Site) -> None:
    app = site.app
    client = app.test_client()
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers=as_member())
    client.get("/search", headers=as_member())
    assert access_rows(app)[-1]["user_agent"] == IPHONE
    answer = client.post("/privacy/withdraw", json={"purposes": ["service_improvement"]}, headers=as_member())
    body = answer.get_json()
    assert body["status"] == "completed"
    assert body["erased_items"] == ["cookie", "device_info"]  # usage records still serve security
    rows = [r for r in access_rows(app) if r["subject"] == "41"]
    assert all(r["user_agent"] is None and r["os_family"] is None for r in rows)
    assert site.count(User, 41) == 1 and site.count(Payment, 41) == 2  # membership stays
    client.get("/search", headers=as_member())
    assert access_rows(app)[-1]["user_agent"] is None  # capture for it stopped at once


def test_a_crash_between_archive_and_erase_is_repaired_by_running_again(site: Site) -> None:
    app, privacy = site.app, site.privacy
    crash_first_erase(site)
    with app.test_request_context():
        with pytest.raises(RuntimeError, match="power cut"):
            register_request(privacy.services, subject="41", kind="withdraw", channel="written", scope="all")
        with privacy.services.databases.main.connect() as conn:
            (request_id, status) = conn.execute(select(requests_table.c.id, requests_table.c.status)).one()
        assert status == "registered"
        with privacy.services.databases.archive.connect() as conn:
            assert len(conn.execute(select(archived_records.c.id)).all()) == 2  # archived first
        assert site.count(User, 41) == 1  # the crash left the user row: nothing lost

        again = execute_request(privacy.services, request_id)
        assert again["status"] == "completed"
        with privacy.services.databases.archive.connect() as conn:
            assert len(conn.execute(select(archived_records.c.id)).all()) == 2  # no duplicates
        assert site.count(User, 41) == 0 and site.count(Payment, 41) == 0
        assert execute_request(privacy.services, request_id)["status"] == "completed"  # idempotent


def test_destroying_the_subject_key_makes_the_archive_unreadable(site: Site) -> None:
    app, privacy = site.app, site.privacy
    app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers=as_member())
    with app.app_context():
        assert all(r["data"] is not None for r in privacy.export("41")["archived_records"])
        with privacy.services.databases.main.begin() as conn:
            conn.execute(subject_keys.delete().where(subject_keys.c.subject == "41"))
        assert all(r["data"] is None for r in privacy.export("41")["archived_records"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "expected"),
        ({"scope": "everything"}, "scope"),
        ({"scope": "all", "purposes": ["service_improvement"]}, "not both"),
        ({"purposes": ["member_management"]}, "not consent"),
        ({"purposes": ["nope"]}, "unknown purpose"),
        ({"purposes": "service_improvement"}, "list"),
    ],
)
def test_bad_withdrawal_input_is_400_and_changes_nothing(site: Site, body: dict[str, Any], message: str) -> None:
    answer = site.app.test_client().post("/privacy/withdraw", json=body, headers=as_member())
    assert answer.status_code == 400
    assert message in answer.get_json()["message"]
    assert site.count(User, 41) == 1
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        assert conn.execute(select(requests_table.c.id)).all() == []


def test_withdrawal_needs_a_signed_in_subject(site: Site) -> None:
    answer = site.app.test_client().post(
        "/privacy/withdraw", json={"scope": "all"}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 401
    assert "withdraw/email" in answer.get_json()["message"]


def test_a_subject_sees_only_their_own_requests(site: Site) -> None:
    client = site.app.test_client()
    request_id = client.post(
        "/privacy/withdraw", json={"purposes": ["statistics_advertising"]}, headers=as_member("41")
    ).get_json()["request_id"]
    mine = client.get(f"/privacy/requests/{request_id}", headers={**as_member("41"), "Accept": "application/json"})
    assert mine.status_code == 200 and mine.get_json()["status"] == "completed"
    theirs = client.get(f"/privacy/requests/{request_id}", headers={**as_member("42"), "Accept": "application/json"})
    assert theirs.status_code == 404
    assert client.get("/privacy/requests/nope", headers=as_member("41")).status_code == 404


def test_record_provision_rejects_items_not_declared_for_the_recipient(site: Site) -> None:
    from flask_casenote_privacy import InvalidRequest
    from flask_casenote_privacy.storage.tables import provisions

    privacy = site.privacy
    with site.app.app_context():
        with pytest.raises(InvalidRequest, match="not declared for 'nicepay'"):
            privacy.record_provision("41", recipient="nicepay", items=["card_number", "email"])
        with pytest.raises(InvalidRequest, match="not in the policy"):
            privacy.record_provision("41", recipient="kakaopay", items=["card_number"])
        row = privacy.record_provision("41", recipient="nicepay", items=["card_number", "birth_date"])
        assert row["retention"] == "payment_record"
        with privacy.services.databases.main.connect() as conn:
            assert conn.execute(select(provisions.c["items"])).scalars().all() == ["card_number,birth_date"]


def test_register_model_rejects_unknown_items_and_retention(site: Site) -> None:
    privacy = site.privacy
    with pytest.raises(ValueError, match="unknown item 'phone'"):
        privacy.register_model(User, subject="id", items={"phone": "name"}, session_factory=site.Session, name="u2")
    with pytest.raises(ValueError, match="unknown retention class 'tax_record'"):
        privacy.register_model(
            Payment,
            subject="user_id",
            retention="tax_record",
            occurred_at="paid_at",
            session_factory=site.Session,
            name="p2",
        )
    with pytest.raises(ValueError, match="has no period"):
        privacy.register_model(
            Payment,
            subject="user_id",
            retention="membership",
            occurred_at="paid_at",
            session_factory=site.Session,
            name="p3",
        )
    with pytest.raises(ValueError, match="has no column 'paid_on'"):
        privacy.register_model(
            Payment,
            subject="user_id",
            retention="payment_record",
            occurred_at="paid_on",
            session_factory=site.Session,
            name="p4",
        )


def test_without_smtp_the_notification_is_logged_without_the_address(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: Any
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    urls = (
        URL.create("sqlite", database=str(tmp_path / "m.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "a.sqlite")),
    )
    site = build_site(make_app, urls, tmp_path, PRIVACY_CSRF=False)  # no PRIVACY_MAIL_SERVER
    site.add_member(41, "김민지", PROBE_EMAIL, [])
    answer = site.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers=as_member())
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "completed"
    mails = [r.getMessage() for r in caplog.records if r.name == "flask_casenote_privacy.mail"]
    assert len(mails) == 2
    assert all("not sent" in m and PROBE_EMAIL not in m for m in mails)
    site.close()


def test_a_withdrawals_erasure_is_in_the_destruction_ledger(site: Site) -> None:
    from flask_casenote_privacy.retention.ledger import destruction_history

    request_id = (
        site.app.test_client()
        .post("/privacy/withdraw", json={"scope": "all"}, headers=as_member())
        .get_json()["request_id"]
    )
    with site.app.app_context():
        rows = {
            (r["target"], r["retention"]): r
            for r in destruction_history(site.privacy.services)
            if r["run_id"] == request_id
        }
    assert {k: r["count"] for k, r in rows.items()} == {
        ("host:users", "membership"): 1,
        ("host:search_history", "membership"): 1,
        ("host:payments", "payment_record"): 2,
    }
    assert "archive" in rows[("host:payments", "payment_record")]["method"]
    assert all(r["executor"] == "withdrawal" for r in rows.values())


def test_a_subject_id_the_host_key_cannot_hold_has_no_data_and_fails_nothing(site: Site) -> None:
    from flask_casenote_privacy.rights.requests import register_request

    with site.app.test_request_context():
        req = register_request(
            site.privacy.services, subject="not-a-number", kind="withdraw", channel="written", scope="all"
        )
        assert req["status"] == "completed"
        assert site.privacy.export("not-a-number")["sources"]["users"]["records"] == []
    assert site.count(User, 41) == 1
