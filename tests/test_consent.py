"""Consent: the routes, the ledger, the signed cookie, CSRF, and policy versions."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import IPHONE, access_rows, add_routes, ledger_rows


@pytest.fixture
def site(backend_app: Flask) -> Flask:
    add_routes(backend_app)
    return backend_app


def csrf_token(client) -> str:  # type: ignore[no-untyped-def]
    return client.get("/privacy/consent", headers={"Accept": "application/json"}).get_json()["csrf_token"]


def test_get_consent_json_lists_only_optional_purposes_with_a_csrf_token(site: Flask) -> None:
    body = site.test_client().get("/privacy/consent", headers={"Accept": "application/json"}).get_json()
    assert [p["id"] for p in body["purposes"]] == ["service_improvement", "statistics_advertising"]
    assert all(p["granted"] is False for p in body["purposes"])  # opt-in: off until granted
    assert body["granted"] == []
    assert body["csrf_token"]
    assert body["policy_version"] == "2026-11-28"


def test_post_without_csrf_token_is_refused_and_changes_nothing(site: Flask) -> None:
    client = site.test_client()
    answer = client.post(
        "/privacy/consent", json={"purposes": {"service_improvement": True}}, headers={"X-Test-Subject": "41"}
    )
    assert answer.status_code == 400
    assert "CSRF" in answer.get_json()["message"]
    assert ledger_rows(site) == []
    assert client.get_cookie("privacy_consent") is None


def test_post_with_a_wrong_csrf_token_is_refused(site: Flask) -> None:
    client = site.test_client()
    csrf_token(client)
    answer = client.post(
        "/privacy/consent",
        json={"purposes": {"service_improvement": True}},
        headers={"X-CSRF-Token": "forged"},
    )
    assert answer.status_code == 400


def test_signed_in_grant_appends_to_the_ledger_with_version_and_channel(site: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    client = site.test_client()
    token = csrf_token(client)
    headers = {"X-CSRF-Token": token, "X-Test-Subject": "41"}
    clock.set("2026-12-01T09:00:00+09:00")
    answer = client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers=headers)
    assert answer.status_code == 200
    assert answer.get_json() == {"granted": ["service_improvement"], "gpc": False}
    clock.set("2026-12-02T09:00:00+09:00")
    client.post("/privacy/consent", json={"purposes": {"service_improvement": False}}, headers=headers)
    rows = ledger_rows(site)
    assert [(r["subject"], r["purpose"], r["granted"], r["channel"]) for r in rows] == [
        ("41", "service_improvement", True, "web"),
        ("41", "service_improvement", False, "web"),
    ]
    assert rows[0]["policy_version"] == "2026-11-28"
    assert rows[0]["recorded_at"].isoformat() == "2026-12-01T00:00:00+00:00"
    # the latest event wins
    state = client.get("/privacy/consent", headers={"Accept": "application/json", "X-Test-Subject": "41"})
    assert state.get_json()["granted"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"purposes": {"member_management": False}}, "cannot be toggled"),
        ({"purposes": {"security": True}}, "cannot be toggled"),
        ({"purposes": {"no_such_purpose": True}}, "unknown purpose"),
        ({"purposes": {"service_improvement": "yes"}}, "expected true or false"),
        ({"purposes": {}}, "at least one purpose"),
        ({"purposes": ["service_improvement"]}, "expected"),
        ({"granted": ["service_improvement"]}, "expected"),
        ([1, 2], "expected"),
    ],
)
def test_bad_consent_input_is_400_with_a_message_and_changes_nothing(site: Flask, body: object, message: str) -> None:
    client = site.test_client()
    token = csrf_token(client)
    answer = client.post("/privacy/consent", json=body, headers={"X-CSRF-Token": token, "X-Test-Subject": "41"})
    assert answer.status_code == 400
    assert message in answer.get_json()["message"]
    assert ledger_rows(site) == []


def test_every_problem_of_a_consent_body_is_named(site: Flask) -> None:
    client = site.test_client()
    token = csrf_token(client)
    body = {"purposes": {"security": False, "nope": True, "service_improvement": 1}}
    message = client.post("/privacy/consent", json=body, headers={"X-CSRF-Token": token}).get_json()["message"]
    assert "'security'" in message and "'nope'" in message and "'service_improvement'" in message


def test_malformed_json_is_400(site: Flask) -> None:
    client = site.test_client()
    token = csrf_token(client)
    answer = client.post(
        "/privacy/consent", data="{not json", content_type="application/json", headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 400


def test_anonymous_choices_live_in_a_signed_cookie_not_the_ledger(site: Flask) -> None:
    client = site.test_client()
    token = csrf_token(client)
    answer = client.post(
        "/privacy/consent",
        json={"purposes": {"statistics_advertising": True}},
        headers={"X-CSRF-Token": token},
    )
    assert answer.get_json()["granted"] == ["statistics_advertising"]
    cookie = client.get_cookie("privacy_consent")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert ledger_rows(site) == []
    # a second choice keeps the first
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers={"X-CSRF-Token": token})
    state = client.get("/privacy/consent", headers={"Accept": "application/json"}).get_json()
    assert state["granted"] == ["service_improvement", "statistics_advertising"]


def test_cookie_choices_carry_into_the_ledger_at_sign_in(site: Flask) -> None:
    client = site.test_client()
    token = csrf_token(client)
    client.post(
        "/privacy/consent",
        json={"purposes": {"service_improvement": True, "statistics_advertising": False}},
        headers={"X-CSRF-Token": token},
    )
    assert ledger_rows(site) == []
    signed_in = client.get("/search", headers={"X-Test-Subject": "77", "User-Agent": IPHONE})
    assert "privacy_consent=;" in signed_in.headers.get("Set-Cookie", "")  # the cookie is cleared
    rows = ledger_rows(site)
    assert sorted((r["subject"], r["purpose"], r["granted"], r["channel"]) for r in rows) == [
        ("77", "service_improvement", True, "cookie"),
        ("77", "statistics_advertising", False, "cookie"),
    ]
    client.get("/search", headers={"X-Test-Subject": "77", "User-Agent": IPHONE})
    assert access_rows(site)[-1]["user_agent"] == IPHONE  # the ledger now grants it
    assert len(ledger_rows(site)) == 2  # carried once, not on every request


def test_a_newer_ledger_decision_is_not_overwritten_by_an_older_cookie(site: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    client = site.test_client()
    token = csrf_token(client)
    clock.set("2026-12-01T09:00:00+09:00")
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers={"X-CSRF-Token": token})
    cookie = client.get_cookie("privacy_consent").value
    # Later, signed in elsewhere, the member refused it.
    other = site.test_client()
    other_token = csrf_token(other)
    clock.set("2026-12-05T09:00:00+09:00")
    other.post(
        "/privacy/consent",
        json={"purposes": {"service_improvement": False}},
        headers={"X-CSRF-Token": other_token, "X-Test-Subject": "77"},
    )
    client.set_cookie("privacy_consent", cookie)
    client.get("/search", headers={"X-Test-Subject": "77", "User-Agent": IPHONE})
    assert [r["granted"] for r in ledger_rows(site)] == [False]
    assert access_rows(site)[-1]["user_agent"] is None


def test_consent_given_under_an_older_policy_lapses_when_the_purpose_changed_its_items(
    make_app: Callable[..., Flask], tmp_path: Path, database_urls
) -> None:  # type: ignore[no-untyped-def]
    main, archive = database_urls
    old = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CSRF=False)
    add_routes(old)
    client = old.test_client()
    as_5 = {"X-Test-Subject": "5"}
    client.post(
        "/privacy/consent",
        json={"purposes": {"service_improvement": True, "statistics_advertising": True}},
        headers=as_5,
    )

    preset = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text("utf-8")
    changed = preset.replace('version = "2026-11-28"', 'version = "2027-01-01"').replace(
        'basis = "consent"\nstatute = { ko = "개인정보 보호법 제15조 제1항 제1호 (정보주체의 동의)", en = "PIPA Art. 15(1)1 (the data subject\'s consent)" }\nitems = ["usage_record", "device_info", "cookie"]\n\n[[purposes]]\nid = "user_protection"',
        'basis = "consent"\nstatute = { ko = "개인정보 보호법 제15조 제1항 제1호 (정보주체의 동의)", en = "PIPA Art. 15(1)1 (the data subject\'s consent)" }\nitems = ["usage_record", "device_info", "cookie", "ip_address"]\n\n[[purposes]]\nid = "user_protection"',
    )
    assert changed.count('"cookie", "ip_address"]') == 1  # service_improvement now also uses the IP
    path = tmp_path / "policy-2027.toml"
    path.write_text(changed, encoding="utf-8")
    new = make_app(PRIVACY_POLICY=str(path), PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive)
    add_routes(new)
    state = new.test_client().get("/privacy/consent", headers={"Accept": "application/json", **as_5}).get_json()
    assert state["granted"] == ["statistics_advertising"]  # unchanged purpose: still granted
    assert state["policy_version"] == "2027-01-01"


def test_the_html_form_saves_choices_and_redirects(site: Flask) -> None:
    client = site.test_client()
    page = client.get("/privacy/consent")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "선택 동의 관리" in html and 'name="csrf_token"' in html
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    saved = client.post(
        "/privacy/consent",
        data={"csrf_token": token, "purpose": ["service_improvement"], "action": "save"},
        headers={"X-Test-Subject": "9"},
    )
    assert saved.status_code == 303
    assert "saved=1" in saved.headers["Location"]
    assert [(r["purpose"], r["granted"]) for r in ledger_rows(site)] == [
        ("service_improvement", True),
        ("statistics_advertising", False),
    ]
    client.post(
        "/privacy/consent",
        data={"csrf_token": token, "action": "accept_all"},
        headers={"X-Test-Subject": "9"},
    )
    state = client.get("/privacy/consent", headers={"Accept": "application/json", "X-Test-Subject": "9"}).get_json()
    assert state["granted"] == ["service_improvement", "statistics_advertising"]
    english = client.get("/privacy/consent?lang=en").get_data(as_text=True)
    assert "Your optional consents" in english


def test_the_form_without_csrf_token_is_refused(site: Flask) -> None:
    answer = site.test_client().post("/privacy/consent", data={"action": "accept_all"})
    assert answer.status_code == 400
    assert ledger_rows(site) == []


def test_gpc_is_reported_and_its_purpose_shown_as_refused(site: Flask) -> None:
    client = site.test_client()
    body = client.get("/privacy/consent", headers={"Accept": "application/json", "Sec-GPC": "1"}).get_json()
    assert body["gpc"] is True
    refused = {p["id"]: p["refused_by_gpc"] for p in body["purposes"]}
    assert refused == {"service_improvement": False, "statistics_advertising": True}


def test_a_consent_cookie_signed_before_a_key_rotation_still_counts(make_app: Callable[..., Flask]) -> None:
    old = make_app(SECRET_KEY="old-key", PRIVACY_CSRF=False)
    add_routes(old)
    client = old.test_client()
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}})
    cookie = client.get_cookie("privacy_consent").value
    rotated = make_app(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"], PRIVACY_CSRF=False)
    add_routes(rotated)
    fresh = rotated.test_client()
    fresh.set_cookie("privacy_consent", cookie)
    state = fresh.get("/privacy/consent", headers={"Accept": "application/json"}).get_json()
    assert state["granted"] == ["service_improvement"]
    without = make_app(SECRET_KEY="new-key", PRIVACY_CSRF=False)
    other = without.test_client()
    other.set_cookie("privacy_consent", cookie)
    assert other.get("/privacy/consent", headers={"Accept": "application/json"}).get_json()["granted"] == []
