"""Withdrawal by emailed link, on SQLite, PostgreSQL and MariaDB: the answer never
tells whether an address is known; the link is signed, expiring and single-use,
and an expired, tampered, reused or foreign link changes nothing (400, never 500)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from flask_casenote_privacy.signing import WithdrawTokens
from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.tables import consent_events, token_uses
from flask_casenote_privacy.storage.tables import requests as requests_table
from tests.conftest import MEMBER_SITE_START
from tests.member_site import PROBE_EMAIL, Payment, SearchHistory, Site, User

JSON = {"Accept": "application/json"}
LINK = re.compile(r"http://localhost/privacy/withdraw/confirm/(\S+)")
START = MEMBER_SITE_START


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


def csrf_token(client: FlaskClient) -> str:
    token = client.get("/privacy/consent", headers=JSON).get_json()["csrf_token"]
    assert token
    return str(token)


def ask_for_link(client: FlaskClient, email: str) -> Any:
    return client.post("/privacy/withdraw/email", data={"email": email, "csrf_token": csrf_token(client)})


def flushed_outbox(site: Site, outbox: Any) -> list[dict[str, Any]]:
    """Every message handed to the mailer so far, delivered."""
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    return list(outbox.messages)


def emailed_token(site: Site, smtp: Any) -> str:
    """Ask for a link for member 41 and return the token the mail carries."""
    _, _, outbox = smtp
    before = len(outbox.messages)
    assert ask_for_link(site.app.test_client(), PROBE_EMAIL).status_code == 202
    messages = outbox.wait(before + 1)
    assert len(flushed_outbox(site, outbox)) == before + 1
    match = LINK.search(messages[-1]["body"])
    assert match, messages[-1]["body"]
    return match.group(1)


def state(site: Site) -> dict[str, Any]:
    """Everything a withdrawal would change, to show that nothing did."""
    privacy = site.privacy
    with site.app.app_context():
        with privacy.services.databases.main.connect() as conn:
            requests = sorted(conn.execute(select(requests_table.c.id, requests_table.c.status)).all())
            uses = conn.execute(select(func.count()).select_from(token_uses)).scalar()
            consents = conn.execute(select(func.count()).select_from(consent_events)).scalar()
        with privacy.services.databases.archive.connect() as conn:
            archived = conn.execute(select(func.count()).select_from(archived_records)).scalar()
    return {
        "users": site.count(User, 41),
        "payments": site.count(Payment, 41),
        "search_history": site.count(SearchHistory, 41),
        "requests": requests,
        "token_uses": uses,
        "consent_events": consents,
        "archived": archived,
    }


def confirm(client: FlaskClient, token: str, *, json: bool = True) -> Any:
    """POST the confirmation with a valid CSRF token, so only the link can fail."""
    headers = {"X-CSRF-Token": csrf_token(client), **(JSON if json else {})}
    return client.post(f"/privacy/withdraw/confirm/{token}", headers=headers)


# -- asking for a link -----------------------------------------------------------------
def test_known_and_unknown_addresses_get_the_same_answer_and_only_a_member_gets_mail(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    client = site.app.test_client()

    unknown_form = ask_for_link(client, "nobody@example.kr")
    unknown_json = client.post(
        "/privacy/withdraw/email",
        json={"email": "nobody@example.kr"},
        headers={**JSON, "X-CSRF-Token": csrf_token(client)},
    )
    assert flushed_outbox(site, outbox) == []  # nothing is sent for an unknown address

    known_form = ask_for_link(client, PROBE_EMAIL)
    known_json = client.post(
        "/privacy/withdraw/email", json={"email": PROBE_EMAIL}, headers={**JSON, "X-CSRF-Token": csrf_token(client)}
    )
    for known, unknown in ((known_form, unknown_form), (known_json, unknown_json)):
        assert known.status_code == unknown.status_code == 202
        assert known.get_data() == unknown.get_data()
    assert known_json.get_json()["status"] == "accepted"

    messages = outbox.wait(2)
    assert len(flushed_outbox(site, outbox)) == 2
    assert [m["to"] for m in messages] == [[PROBE_EMAIL], [PROBE_EMAIL]]
    mail = messages[0]
    assert "동의철회" in mail["subject"] and "Confirm your withdrawal" in mail["subject"]
    assert mail["from"] == "privacy@casenote.kr"
    body = mail["body"]
    assert LINK.search(body)
    assert "24시간" in body and "24 hours" in body  # PRIVACY_TOKEN_MAX_AGE default
    assert body.index("링크") < body.index("-----") < body.index("confirm the withdrawal")
    # Two requests, two different single-use links.
    assert LINK.search(messages[0]["body"]).group(1) != LINK.search(messages[1]["body"]).group(1)  # type: ignore[union-attr]
    # Asking for a link withdraws nothing yet.
    assert state(site)["users"] == 1 and state(site)["requests"] == []


def test_malformed_email_is_400_and_sends_nothing(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    client = site.app.test_client()
    token = csrf_token(client)
    bad_forms = [{}, {"email": ""}, {"email": "no-at-sign"}, {"email": "two words@example.kr"}]
    bad_forms.append({"email": "a" * 400 + "@example.kr"})
    for form in bad_forms:
        answer = client.post("/privacy/withdraw/email", data={**form, "csrf_token": token}, headers=JSON)
        assert answer.status_code == 400, form
        assert "email" in answer.get_json()["message"]
    for body in ({"email": 41}, {"email": [PROBE_EMAIL]}, ["not", "an", "object"]):
        answer = client.post("/privacy/withdraw/email", json=body, headers={**JSON, "X-CSRF-Token": token})
        assert answer.status_code == 400, body
    assert flushed_outbox(site, outbox) == []


def test_asking_for_a_link_without_a_csrf_token_is_400_and_sends_nothing(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    client = site.app.test_client()
    csrf_token(client)  # a session exists; the token is just not sent
    missing = client.post("/privacy/withdraw/email", data={"email": PROBE_EMAIL}, headers=JSON)
    assert missing.status_code == 400
    assert "CSRF" in missing.get_json()["message"]
    wrong = client.post("/privacy/withdraw/email", data={"email": PROBE_EMAIL, "csrf_token": "forged"}, headers=JSON)
    assert wrong.status_code == 400
    assert flushed_outbox(site, outbox) == []


# -- using the link ----------------------------------------------------------------------
def test_the_link_shows_a_form_then_withdraws_and_works_only_once(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    token = emailed_token(site, smtp)
    untouched = state(site)
    client = site.app.test_client()

    page = client.get(f"/privacy/withdraw/confirm/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<form method="post">' in html
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert form_token
    assert state(site) == untouched  # looking at the page changes nothing

    done = client.post(f"/privacy/withdraw/confirm/{token}", data={"csrf_token": form_token.group(1)}, headers=JSON)
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "completed" and body["kind"] == "withdraw" and body["channel"] == "email"
    assert {r["retention"]: r["count"] for r in body["retained"]}["payment_record"] == 1
    after = state(site)
    assert (after["users"], after["payments"], after["search_history"]) == (0, 0, 0)
    assert after["archived"] == 1  # the payment moved to the separate database
    assert after["token_uses"] == 1
    assert site.count(User, 42) == 1  # the other member is untouched

    messages = outbox.wait(3)  # the link, then registered and completed
    assert len(messages) == 3
    assert [m["to"] for m in messages[1:]] == [[PROBE_EMAIL], [PROBE_EMAIL]]
    assert "동의철회 접수" in messages[1]["subject"]
    assert "파기했습니다" in messages[2]["body"] and "destroyed" in messages[2]["body"]

    # The same link again: 400 "used", as JSON and as a page, and nothing changes.
    again = confirm(client, token)
    assert again.status_code == 400
    assert again.get_json()["error"] == "token_used"
    page_again = confirm(client, token, json=False)
    assert page_again.status_code == 400
    assert "이미 사용된 링크" in page_again.get_data(as_text=True)
    assert state(site) == after
    assert len(flushed_outbox(site, outbox)) == 3


def test_an_expired_link_is_400_and_changes_nothing(make_site: Callable[..., Site], smtp: Any, clock: Any) -> None:
    _, _, outbox = smtp
    site = make_site(PRIVACY_TOKEN_MAX_AGE=3600)
    token = emailed_token(site, smtp)
    assert "1시간" in outbox.messages[0]["body"]
    untouched = state(site)
    client = site.app.test_client()
    issued = datetime.fromisoformat(START)

    clock.set(issued + timedelta(minutes=59))
    assert client.get(f"/privacy/withdraw/confirm/{token}").status_code == 200  # still valid

    clock.set(issued + timedelta(hours=2))
    page = client.get(f"/privacy/withdraw/confirm/{token}")
    assert page.status_code == 400
    assert "유효기간" in page.get_data(as_text=True)
    answer = confirm(client, token)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "token_expired"
    assert state(site) == untouched
    assert len(flushed_outbox(site, outbox)) == 1  # only the link itself was ever sent


def tampered(token: str) -> list[str]:
    """Versions of a real token with characters flipped, cut or added."""
    payload, timestamp, signature = token.rsplit(".", 2)

    def flip(text: str, at: int) -> str:
        return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]

    return [
        f"{flip(payload, 3)}.{timestamp}.{signature}",  # another payload under the old signature
        f"{payload}.{flip(timestamp, 1)}.{signature}",  # another issue time
        f"{payload}.{timestamp}.{flip(signature, 5)}",
        f"{payload}.{timestamp}.{signature[:-4]}",
        f"{payload}.{timestamp}",
        f"{payload}.{timestamp}.{signature}x",
        token[::-1],
        "x" * 2000,
        "..",
        "링크",
    ]


def test_tampered_links_are_400_and_change_nothing(site: Site, smtp: Any) -> None:
    token = emailed_token(site, smtp)
    untouched = state(site)
    client = site.app.test_client()
    with site.app.app_context():
        # Signed with the app's key and salt, but not a link's payload.
        wrong_shape = [
            site.privacy.services.withdraw_tokens.serializer.dumps(p) for p in ("41", {"s": "41"}, {"s": 41, "n": "x"})
        ]
    for bad in [*tampered(token), *wrong_shape]:
        page = client.get(f"/privacy/withdraw/confirm/{bad}", headers=JSON)
        assert page.status_code == 400, bad
        assert page.get_json()["error"] == "token_invalid"
        assert confirm(client, bad).status_code == 400, bad
    assert state(site) == untouched
    # The genuine link still works afterwards.
    assert client.get(f"/privacy/withdraw/confirm/{token}").status_code == 200


def test_a_consent_cookie_is_not_a_withdrawal_token(site: Site) -> None:
    """Both are signed with SECRET_KEY; the salt keeps one from passing as the other."""
    client = site.app.test_client()
    answer = client.post(
        "/privacy/consent",
        json={"purposes": {"statistics_advertising": True}},
        headers={**JSON, "X-CSRF-Token": csrf_token(client)},
    )
    assert answer.status_code == 200
    cookie = client.get_cookie("privacy_consent")
    assert cookie is not None
    with site.app.app_context():
        assert site.privacy.services.consent_cookie.loads(cookie.value)  # a valid, signed cookie value
        # Even a link-shaped payload signed under the consent salt is refused.
        link_shaped = site.privacy.services.consent_cookie.serializer.dumps({"s": "41", "n": "0" * 32})
    untouched = state(site)
    for value in (cookie.value, link_shaped):
        assert client.get(f"/privacy/withdraw/confirm/{value}").status_code == 400
        assert confirm(client, value).get_json()["error"] == "token_invalid"
    assert state(site) == untouched


def test_a_link_signed_with_another_secret_key_is_400(site: Site, clock: Any) -> None:
    client = site.app.test_client()
    ours = WithdrawTokens("test-secret-key", clock, 86400).make("41")
    assert client.get(f"/privacy/withdraw/confirm/{ours}").status_code == 200  # the forger's method is sound
    untouched = state(site)
    theirs = WithdrawTokens("another-secret-key", clock, 86400).make("41")
    assert client.get(f"/privacy/withdraw/confirm/{theirs}").status_code == 400
    answer = confirm(client, theirs)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "token_invalid"
    assert state(site) == untouched
