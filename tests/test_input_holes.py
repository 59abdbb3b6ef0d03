"""The smaller holes an attacker found, on SQLite, PostgreSQL and MariaDB: every bad
input is a 400 that changes nothing (checked before anything happens), redirects
stay on the site, officer intake takes text only, operator access records name the
client behind the proxy, pages with personal data are never cached, and a consent
cookie planted in a signed-in member's browser counts for nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from flask_casenote_privacy.storage.tables import consent_events, operator_access, requests
from tests.member_site import PROBE_EMAIL, Site, User

JSON = {"Accept": "application/json"}
MEMBER = {"X-Test-Subject": "41"}
OFFICER = {"X-Test-Officer": "officer.kang"}


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


def csrf(client: Any, **headers: str) -> dict[str, str]:
    token = client.get("/privacy/consent", headers={**JSON, **headers}).get_json()["csrf_token"]
    return {"X-CSRF-Token": token, **headers}


def state(site: Site) -> tuple[int, ...]:
    """What a state change would change: ledger, requests, the member's row."""
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        counts = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (consent_events, requests)]
    return (*counts, site.count(User, 41))


# -- deeply nested JSON ---------------------------------------------------------------------
@pytest.mark.parametrize("route", ["/privacy/consent", "/privacy/withdraw", "/privacy/withdraw/email"])
def test_deeply_nested_json_is_a_400_not_a_crash(site: Site, route: str) -> None:
    client = site.app.test_client()
    headers = csrf(client, **MEMBER)
    before = state(site)
    body = '{"purposes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = client.post(route, data=body, content_type="application/json", headers={**JSON, **headers})
    assert answer.status_code == 400
    assert "nested" in answer.get_json()["message"]
    assert state(site) == before


# -- input checked before the state changes ---------------------------------------------------
def test_an_unknown_language_refuses_a_withdrawal_before_it_happens(site: Site) -> None:
    client = site.app.test_client()
    headers = csrf(client, **MEMBER)
    before = state(site)
    answer = client.post("/privacy/withdraw?lang=xx", json={"scope": "all"}, headers={**JSON, **headers})
    assert answer.status_code == 400 and "'xx'" in answer.get_json()["message"]
    assert state(site) == before  # nothing withdrawn, the member is still there


def test_an_unknown_language_mails_no_link(site: Site, smtp: Any) -> None:
    client = site.app.test_client()
    headers = csrf(client)
    answer = client.post("/privacy/withdraw/email?lang=xx", data={"email": PROBE_EMAIL}, headers=headers)
    assert answer.status_code == 400
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    assert smtp[2].messages == []


# -- redirects ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example", "/\\evil.example",
     "\\\\evil.example", "https://evil.example", "/ /evil.example", "/\x00/evil.example", "javascript:alert(1)"],
)  # fmt: skip
def test_the_consent_form_never_redirects_off_site(site: Site, target: str) -> None:
    client = site.app.test_client()
    token = csrf(client)["X-CSRF-Token"]
    answer = client.post("/privacy/consent", data={"action": "decline_all", "next": target, "csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/privacy/consent")


def test_the_consent_form_goes_back_to_a_page_of_the_site(site: Site) -> None:
    client = site.app.test_client()
    token = csrf(client)["X-CSRF-Token"]
    answer = client.post("/privacy/consent", data={"action": "accept_all", "next": "/search?q=x", "csrf_token": token})
    assert answer.headers["Location"] == "/search?q=x"


# -- officer intake takes text ---------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"subject": {"x": 1}, "kind": "access", "channel": "written"},
        {"subject": ["41"], "kind": "access", "channel": "written"},
        {"subject": "4\x001", "kind": "access", "channel": "written"},
        {"subject": 41, "kind": "access", "channel": "written"},
        {"subject": "41", "kind": ["access"], "channel": "written"},
        {"subject": "41", "kind": "stop", "channel": "written", "purposes": [{"id": "x"}]},
    ],
)
def test_officer_intake_refuses_anything_but_text(site: Site, body: dict[str, Any]) -> None:
    client = site.app.test_client()
    headers = csrf(client, **OFFICER)
    before = state(site)
    answer = client.post("/privacy/officer/requests", json=body, headers={**JSON, **headers})
    assert answer.status_code == 400, answer.get_json()
    assert state(site) == before


# -- operator access records and caching ---------------------------------------------------------
def test_operator_access_records_name_the_client_behind_a_trusted_proxy(make_site: Callable[..., Site]) -> None:
    site = make_site(PRIVACY_TRUSTED_PROXIES=1)
    client = site.app.test_client()
    answer = client.get(
        "/privacy/officer/subjects/41/export?reason=request", headers={**OFFICER, "X-Forwarded-For": "203.0.113.9"}
    )
    assert answer.status_code == 200
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        ips = conn.execute(select(operator_access.c.ip)).scalars().all()
    assert ips == ["203.0.113.9"]


def test_pages_with_personal_data_are_never_cached(site: Site) -> None:
    client = site.app.test_client()
    for path, headers in [
        ("/privacy/export", MEMBER),
        ("/privacy/officer/subjects/41/export?reason=request", OFFICER),
        ("/privacy/officer/", OFFICER),
        ("/privacy/consent", {}),
    ]:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, path
        assert answer.headers.get("Cache-Control") == "no-store", path
    assert "no-store" not in client.get("/privacy/policy").headers.get("Cache-Control", "")


# -- a planted consent cookie ----------------------------------------------------------------------
def test_a_consent_cookie_planted_after_sign_in_never_overrides_the_members_refusal(site: Site, clock: Any) -> None:
    victim = site.app.test_client()
    victim.get("/search", headers=MEMBER)  # signed in
    clock.set("2026-12-01T09:00:00+09:00")
    victim.post(
        "/privacy/consent",
        json={"purposes": {"statistics_advertising": False}},
        headers={**JSON, **csrf(victim, **MEMBER)},
    )
    # The attacker makes a genuine cookie as an anonymous visitor, later, and plants it.
    attacker = site.app.test_client()
    clock.set("2026-12-02T09:00:00+09:00")
    attacker.post(
        "/privacy/consent", json={"purposes": {"statistics_advertising": True}}, headers={**JSON, **csrf(attacker)}
    )
    victim.set_cookie("privacy_consent", attacker.get_cookie("privacy_consent").value)

    seen = victim.get("/privacy/consent", headers={**JSON, **MEMBER}).get_json()
    assert seen["granted"] == []
    assert victim.get_cookie("privacy_consent") is None  # and it is removed
    victim.get("/search", headers=MEMBER)
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        events = conn.execute(select(consent_events.c.channel, consent_events.c.granted)).all()
    assert [tuple(e) for e in events] == [("web", False)]  # nothing carried into the ledger


def test_after_signing_out_and_in_again_a_visitors_choice_is_carried_once_more(site: Site) -> None:
    client = site.app.test_client()
    client.get("/search", headers=MEMBER)  # signed in
    client.get("/search")  # signed out
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers={**JSON, **csrf(client)})
    client.get("/search", headers=MEMBER)  # signed in again: the choice is carried
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        events = conn.execute(select(consent_events.c.channel, consent_events.c.purpose)).all()
    assert [tuple(e) for e in events] == [("cookie", "service_improvement")]
