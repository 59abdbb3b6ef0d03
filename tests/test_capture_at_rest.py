"""What capture stores is what it logs: the access-log row passes the same redaction
as the ``http.access`` line (paths, allow-listed query values, User-Agent, cookie
values), and a path that carries a secret is stored as its route's rule. On SQLite,
PostgreSQL and MariaDB."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from flask_casenote_privacy.storage.tables import access_log
from tests.member_site import Site

JSON = {"Accept": "application/json"}
PROBES = {
    "email": "probe.member@example.kr",
    "card": "4111111111111111",
    "rrn": "900101-1234567",
    "phone": "010-1234-5678",
}


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site(PRIVACY_CAPTURE_QUERY_PARAMS=["q"], PRIVACY_CAPTURE_COOKIES=["visitor"])


def consenting_client(site: Site) -> Any:
    """An anonymous visitor who granted every optional purpose (so device info and
    cookie identifiers are captured too)."""
    client = site.app.test_client()
    token = client.get("/privacy/consent", headers=JSON).get_json()["csrf_token"]
    answer = client.post(
        "/privacy/consent",
        json={"purposes": {"service_improvement": True, "statistics_advertising": True}},
        headers={"X-CSRF-Token": token, **JSON},
    )
    assert answer.status_code == 200
    return client


def stored_rows(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context():
        site.privacy.flush(timeout=30)
        with site.privacy.services.databases.main.connect() as conn:
            return [dict(r) for r in conn.execute(select(access_log).order_by(access_log.c.id)).mappings()]


def test_probes_in_every_client_text_are_redacted_in_the_stored_row(site: Site) -> None:
    client = consenting_client(site)
    probes = " ".join(PROBES.values())
    client.set_cookie("visitor", f"v1 {probes}")
    with structlog.testing.capture_logs() as logs:
        answer = client.get(
            f"/search/{PROBES['email']}/{PROBES['card']}",
            query_string={"q": probes, "other": "dropped"},
            headers={"User-Agent": f"Mozilla/5.0 (iPhone) {probes}"},
        )
    assert answer.status_code == 404  # a 404 is captured like any other request
    row = stored_rows(site)[-1]
    assert row["path"].startswith("/search/") and "q=" in row["path"] and "other" not in row["path"]
    assert row["user_agent"].startswith("Mozilla/5.0 (iPhone)")
    assert row["cookies"] is not None and '"visitor"' in row["cookies"]
    stored = repr(row)
    for name, probe in PROBES.items():
        assert probe not in stored, name
        assert probe.replace("-", "") not in stored, name
    (event,) = [e for e in logs if e["event"] == "http.access"]
    for key in ("path", "user_agent", "cookies"):
        assert event[key] == row[key]  # the line and the row say the same thing


def test_a_withdrawal_link_is_stored_and_logged_as_its_route(site: Site) -> None:
    client = site.app.test_client()
    with site.app.app_context():
        token = site.privacy.services.withdraw_tokens.make("41")
    with structlog.testing.capture_logs() as logs:
        assert client.get(f"/privacy/withdraw/confirm/{token}").status_code == 200
    row = stored_rows(site)[-1]
    assert row["path"] == "/privacy/withdraw/confirm/<token>"
    assert token not in repr(stored_rows(site))
    (event,) = [e for e in logs if e["event"] == "http.access"]
    assert event["path"] == "/privacy/withdraw/confirm/<token>"


def test_a_host_route_marked_secret_is_stored_as_its_rule(make_site: Callable[..., Site]) -> None:
    site = make_site(PRIVACY_CAPTURE_SECRET_ENDPOINTS=["reset"])

    @site.app.get("/reset/<code>")
    def reset(code: str) -> str:
        return "set a new password"

    site.app.test_client().get("/reset/s3cr3t-reset-code")
    assert stored_rows(site)[-1]["path"] == "/reset/<code>"
    assert not re.search("s3cr3t", repr(stored_rows(site)))
