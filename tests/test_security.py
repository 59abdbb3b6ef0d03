"""Security: CSRF on every state-changing route, and no personal data in any log
line even when probes are pushed through every input (the conftest scans the
whole run's captured output for the probe values)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.storage.tables import consent_events, requests, token_uses
from tests.conftest import LOG_PROBES
from tests.member_site import PROBE_EMAIL, Site, User, build_site

JSON = {"Accept": "application/json"}


@pytest.fixture
def site(make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, smtp: Any) -> Iterator[Site]:
    site = build_site(make_app, database_urls, tmp_path, smtp)  # CSRF on: the default
    site.add_member(41, "김민지", PROBE_EMAIL, [("2026-11-30T23:30:00+09:00", 19900)])
    yield site
    site.close()


def changes(site: Site) -> tuple[int, ...]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        counts = [
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (consent_events, requests, token_uses)
        ]
    return (*counts, site.count(User, 41))


def test_every_state_changing_route_refuses_a_missing_csrf_token(site: Site) -> None:
    app = site.app
    token = site.privacy.services.withdraw_tokens.make("41")
    with app.app_context():
        from flask_casenote_privacy.rights.requests import register_request

        with app.test_request_context():
            open_request = register_request(site.privacy.services, subject="41", kind="access", channel="written")["id"]
    routes = [
        ("/privacy/consent", {"purposes": {"service_improvement": True}}),
        ("/privacy/withdraw", {"scope": "all"}),
        ("/privacy/withdraw/email", {"email": PROBE_EMAIL}),
        (f"/privacy/withdraw/confirm/{token}", {}),
        ("/privacy/officer/requests", {"subject": "41", "kind": "withdraw", "channel": "written", "scope": "all"}),
        (f"/privacy/officer/requests/{open_request}/complete", {}),
        (f"/privacy/officer/requests/{open_request}/refuse", {"ground": "legal_obligation", "reason": "x"}),
    ]
    client = app.test_client()
    headers = {"X-Test-Subject": "41", "X-Test-Officer": "officer-kim", **JSON}
    before = changes(site)
    for route, body in routes:
        for kind in ("json", "form"):
            answer = (
                client.post(route, json=body, headers=headers)
                if kind == "json"
                else client.post(route, data=body, headers=headers)
            )
            assert answer.status_code == 400, (route, kind, answer.status_code)
            assert "CSRF" in answer.get_json()["message"], route
    assert changes(site) == before


def test_probes_pushed_through_every_input_never_reach_a_log_line(site: Site, caplog: Any, capsys: Any) -> None:
    """Default structlog (no host chain) and standard logging at DEBUG: the probes go
    into paths, query strings, headers, bodies and a withdrawal; none is printed."""
    caplog.set_level(logging.DEBUG, logger="flask_casenote_privacy")  # not the test SMTP server's own log
    caplog.set_level(logging.INFO)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    structlog.reset_defaults()
    email, rrn, card = LOG_PROBES.values()
    client = site.app.test_client()
    token = client.get("/privacy/consent", headers=JSON).get_json()["csrf_token"]
    member = {"X-Test-Subject": "41", "X-CSRF-Token": token, "User-Agent": f"agent {email} {rrn} {card}"}
    client.get(f"/search/{email}/{rrn}/{card}?q={email}&rrn={rrn}", headers=member)
    client.get("/search", headers={"X-Forwarded-For": email, "Referer": card, **member})
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}, "note": card}, headers=member)
    client.post("/privacy/withdraw/email", json={"email": email}, headers={"X-CSRF-Token": token})
    client.post("/privacy/withdraw", json={"scope": "all", "why": rrn}, headers=member)
    site.privacy.services.mailer.flush()
    site.privacy.flush()
    captured = capsys.readouterr()
    text = captured.out + captured.err + "\n".join(r.getMessage() for r in caplog.records)
    assert "http.access" in text  # the events were printed: the scan below is not vacuous
    for what, probe in LOG_PROBES.items():
        assert probe not in text, what
    assert not re.search(r"probe\.member%40example", text)
