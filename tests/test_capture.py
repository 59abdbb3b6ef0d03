"""Capture: each request stores only the fields the policy and the consent allow,
tagged with its retention class and the Seoul-calendar expiry."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest
from flask import Flask

from tests.helpers import IPHONE, access_rows, add_routes

DEVICE_FIELDS = ("user_agent", "device_family", "os_family", "browser_family")


@pytest.fixture
def site(backend_app: Flask) -> Flask:
    backend_app.config["PRIVACY_CSRF"] = False
    backend_app.extensions["privacy"].services.settings  # noqa: B018 - the app is initialised
    add_routes(backend_app)
    return backend_app


def _csrf_off(app: Flask) -> None:
    # Settings are read at init_app; tests flip CSRF through the settings object.
    privacy = app.extensions["privacy"]
    with app.app_context():
        object.__setattr__(privacy.services.settings, "csrf", False)


def test_without_consent_only_the_legal_access_log_fields_are_stored(site: Flask) -> None:
    client = site.test_client()
    assert client.get("/search?q=kim+family+divorce&page=2", headers={"User-Agent": IPHONE}).status_code == 200
    (row,) = access_rows(site)
    assert row["ip"] == "127.0.0.1"
    assert row["method"] == "GET"
    assert row["path"] == "/search"  # the query string (a search term is personal) is gone
    assert row["status"] == 200
    assert row["duration_ms"] >= 0
    assert row["subject"] is None
    for field in DEVICE_FIELDS:
        assert row[field] is None
    assert row["retention"] == "access_log"
    assert row["purposes"] == "member_management,security,user_protection"


def test_consent_to_an_optional_purpose_adds_device_information(site: Flask) -> None:
    _csrf_off(site)
    client = site.test_client()
    answer = client.post("/privacy/consent", json={"purposes": {"service_improvement": True}})
    assert answer.status_code == 200
    assert answer.get_json()["granted"] == ["service_improvement"]
    client.get("/search", headers={"User-Agent": IPHONE})
    rows = access_rows(site)
    search = rows[-1]
    assert search["path"] == "/search"
    assert search["user_agent"] == IPHONE
    assert search["os_family"] == "iOS"
    assert search["device_family"] == "iPhone"
    assert "service_improvement" in search["purposes"].split(",")


def test_withdrawing_consent_stops_device_capture_at_once(site: Flask) -> None:
    _csrf_off(site)
    client = site.test_client()
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}})
    client.post("/privacy/consent", json={"purposes": {"service_improvement": False}})
    client.get("/search", headers={"User-Agent": IPHONE})
    assert access_rows(site)[-1]["user_agent"] is None


def test_gpc_refuses_statistics_advertising_but_not_service_improvement(site: Flask) -> None:
    _csrf_off(site)
    client = site.test_client()
    client.post("/privacy/consent", json={"purposes": {"statistics_advertising": True}})
    client.get("/search", headers={"User-Agent": IPHONE, "Sec-GPC": "1"})
    with_gpc = access_rows(site)[-1]
    assert with_gpc["user_agent"] is None
    assert "statistics_advertising" not in with_gpc["purposes"]
    client.get("/search", headers={"User-Agent": IPHONE})
    assert access_rows(site)[-1]["user_agent"] == IPHONE

    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}})
    client.get("/search", headers={"User-Agent": IPHONE, "Sec-GPC": "1"})
    assert access_rows(site)[-1]["user_agent"] == IPHONE  # GPC only covers the purposes that honour it


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "", "a" * 5000, "eyJ2IjoiMSJ9.Zz9.tampered", "%%%%", "\u00ff\u00fe"],
    ids=["garbage", "empty", "huge", "bad-signature", "percent", "latin1"],
)
def test_a_garbled_consent_cookie_counts_as_no_consent_and_the_request_is_served(site: Flask, cookie: str) -> None:
    client = site.test_client()
    headers = {"User-Agent": IPHONE, "Cookie": f"privacy_consent={cookie}"}
    assert client.get("/search", headers=headers).status_code == 200
    assert access_rows(site)[-1]["user_agent"] is None


def test_a_tampered_consent_cookie_counts_as_no_consent(site: Flask) -> None:
    _csrf_off(site)
    client = site.test_client()
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}})
    value = client.get_cookie("privacy_consent").value
    payload, rest = value.split(".", 1)
    client.set_cookie("privacy_consent", payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest)
    client.get("/search", headers={"User-Agent": IPHONE})
    assert access_rows(site)[-1]["user_agent"] is None


def test_an_expired_consent_cookie_counts_as_no_consent(make_app: Callable[..., Flask], clock) -> None:  # type: ignore[no-untyped-def]
    app = make_app(PRIVACY_CSRF=False, PRIVACY_CONSENT_COOKIE_MAX_AGE=3600)
    add_routes(app)
    client = app.test_client()
    clock.set("2026-11-28T00:00:00+00:00")
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}})
    clock.set("2026-11-28T00:30:00+00:00")
    client.get("/search", headers={"User-Agent": IPHONE})
    clock.set("2026-11-28T02:00:00+00:00")  # the extension's clock decides the cookie's age
    client.get("/search", headers={"User-Agent": IPHONE})
    rows = access_rows(app)
    assert rows[-2]["user_agent"] == IPHONE
    assert rows[-1]["user_agent"] is None


def test_expiry_is_three_calendar_months_on_the_seoul_calendar(site: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    client = site.test_client()
    clock.set("2026-11-30T12:00:00+09:00")
    client.get("/search")
    clock.set("2026-11-30T20:00:00+00:00")  # already 2026-12-01 05:00 in Seoul
    client.get("/search")
    clock.set("2024-02-29T10:00:00+09:00")
    client.get("/search")
    first, late_utc, leap = access_rows(site)
    seoul = site.extensions["privacy"].policy.tz
    assert first["expires_at"].astimezone(seoul).isoformat() == "2027-02-28T12:00:00+09:00"
    assert late_utc["expires_at"].astimezone(seoul).isoformat() == "2027-03-01T05:00:00+09:00"
    assert leap["expires_at"].astimezone(seoul).isoformat() == "2024-05-29T10:00:00+09:00"
    assert first["occurred_at"] == datetime.fromisoformat("2026-11-30T03:00:00+00:00")


def test_the_signed_in_subject_is_recorded_and_their_ledger_decides(site: Flask) -> None:
    _csrf_off(site)
    client = site.test_client()
    as_41 = {"X-Test-Subject": "41", "User-Agent": IPHONE}
    client.post("/privacy/consent", json={"purposes": {"statistics_advertising": True}}, headers=as_41)
    client.get("/search", headers=as_41)
    client.get("/search", headers={"X-Test-Subject": "42", "User-Agent": IPHONE})
    rows = access_rows(site)
    assert rows[-2]["subject"] == "41" and rows[-2]["user_agent"] == IPHONE
    assert rows[-1]["subject"] == "42" and rows[-1]["user_agent"] is None


def test_query_parameters_are_kept_only_when_allow_listed(make_app: Callable[..., Flask]) -> None:
    app = make_app(PRIVACY_CAPTURE_QUERY_PARAMS=["page"])
    add_routes(app)
    app.test_client().get("/search?q=secret+name&page=2&page=3")
    assert access_rows(app)[-1]["path"] == "/search?page=2&page=3"


def test_excluded_paths_and_static_files_are_not_captured(make_app: Callable[..., Flask]) -> None:
    app = make_app(PRIVACY_CAPTURE_EXCLUDE=["/healthz"])
    add_routes(app)

    @app.get("/healthz")
    def health() -> str:
        return "ok"

    client = app.test_client()
    client.get("/healthz")
    client.get("/static/app.css")
    client.get("/search")
    assert [r["path"] for r in access_rows(app)] == ["/search"]


def test_errors_are_captured_with_their_status(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    add_routes(app)
    client = app.test_client()
    assert client.get("/boom").status_code == 500
    assert client.get("/nowhere").status_code == 404
    assert [(r["path"], r["status"]) for r in access_rows(app)] == [("/boom", 500), ("/nowhere", 404)]


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "127.0.0.1"),  # no proxy trusted: the header is ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client may forge the left part
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (3, "198.51.100.1, 203.0.113.9", "127.0.0.1"),  # fewer hops than trusted
        (1, "not-an-ip", "127.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_x_forwarded_for_is_trusted_only_through_the_configured_hops(
    make_app: Callable[..., Flask], hops: int, forwarded: str, expected: str
) -> None:
    app = make_app(PRIVACY_TRUSTED_PROXIES=hops)
    add_routes(app)
    app.test_client().get("/search", headers={"X-Forwarded-For": forwarded})
    assert access_rows(app)[-1]["ip"] == expected


def test_non_essential_cookie_identifiers_need_consent(make_app: Callable[..., Flask]) -> None:
    app = make_app(PRIVACY_CAPTURE_COOKIES=["visitor_id"], PRIVACY_CSRF=False)
    add_routes(app)
    client = app.test_client()
    client.set_cookie("visitor_id", "v-123")
    client.set_cookie("session_x", "not captured")
    client.get("/search")
    client.post("/privacy/consent", json={"purposes": {"statistics_advertising": True}})
    client.get("/search")
    rows = access_rows(app)
    assert rows[0]["cookies"] is None
    assert json.loads(rows[-1]["cookies"]) == {"visitor_id": "v-123"}


def test_capture_can_be_turned_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(PRIVACY_CAPTURE=False)
    add_routes(app)
    app.test_client().get("/search")
    assert access_rows(app) == []


def test_synchronous_mode_writes_before_the_response(make_app: Callable[..., Flask]) -> None:
    from sqlalchemy import func, select

    from flask_casenote_privacy.storage.tables import access_log

    app = make_app(PRIVACY_CAPTURE_SYNC=True)
    add_routes(app)
    app.test_client().get("/search")
    privacy = app.extensions["privacy"]
    with app.app_context(), privacy.services.databases.main.connect() as conn:  # no flush() needed
        assert conn.execute(select(func.count()).select_from(access_log)).scalar_one() == 1


def test_each_request_emits_one_http_access_event_with_its_tags(make_app: Callable[..., Flask]) -> None:
    import structlog

    app = make_app()
    add_routes(app)
    with structlog.testing.capture_logs() as logs:
        app.test_client().get("/search?q=x", headers={"User-Agent": IPHONE})
    events = [e for e in logs if e["event"] == "http.access"]
    assert len(events) == 1
    (event,) = events
    assert event["path"] == "/search"
    assert event["retention"] == "access_log"
    assert event["retention_until"].endswith("+09:00")
    assert event["purposes"] == ["member_management", "security", "user_protection"]
    assert "user_agent" not in event


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PRIVACY_CAPTURE_RETENTION", "nope"),
        ("PRIVACY_CAPTURE_RETENTION", "membership"),
        ("PRIVACY_TRUSTED_PROXIES", -1),
        ("PRIVACY_TRUSTED_PROXIES", "1"),
        ("PRIVACY_WRITER_BATCH_SIZE", 0),
        ("PRIVACY_CAPTURE_EXCLUDE", "/static"),
        ("PRIVACY_LOG_FIELD_ITEMS", {"geo": "no_such_item"}),
    ],
)
def test_bad_capture_configuration_fails_at_init_naming_the_key(
    make_app: Callable[..., Flask], key: str, value: object
) -> None:
    from flask_casenote_privacy import ConfigurationError

    with pytest.raises(ConfigurationError, match=key):
        make_app(upgrade=False, **{key: value})
