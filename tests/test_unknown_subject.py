"""A request for an id nobody has (an officer's typing mistake, a stranger's letter),
on SQLite, PostgreSQL and MariaDB: it is recorded, as every intake must be, and it
says that nothing was found instead of reading "completed" as if a member had left."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from flask_casenote_privacy.storage.tables import requests as requests_table
from tests.member_site import Site

OFFICER = {"X-Test-Officer": "officer.kang", "Accept": "application/json"}
NOTHING_FOUND = "해당 회원의 정보가 없습니다"


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site(PRIVACY_CSRF=False)


def flask(site: Site, *args: str) -> Any:
    with structlog.testing.capture_logs():
        result = site.app.test_cli_runner().invoke(args=["privacy", *args])
    assert result.exit_code == 0, (result.stderr, result.exception)
    return json.loads(result.stdout)


def recorded(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(requests_table)).mappings()]


def test_a_written_withdrawal_for_an_id_nobody_has_is_recorded_and_says_nothing_was_found(site: Site) -> None:
    req = flask(
        site, "requests", "register", "--subject", "999", "--kind", "withdraw", "--channel", "written", "--scope", "all"
    )

    assert (req["subject"], req["status"], req["found"]) == ("999", "completed", False)
    assert [(r["id"], r["subject"]) for r in recorded(site)] == [(req["id"], "999")]
    (listed,) = flask(site, "requests", "list", "--format", "json")
    assert (listed["id"], listed["found"]) == (req["id"], False)


def test_the_text_list_says_whether_anything_was_found(site: Site) -> None:
    unknown = flask(site, "requests", "register", "--subject", "999", "--kind", "delete", "--channel", "written")
    member = flask(site, "requests", "register", "--subject", "41", "--kind", "access", "--channel", "written")

    with structlog.testing.capture_logs():
        text = site.app.test_cli_runner().invoke(args=["privacy", "requests", "list"])

    assert text.exit_code == 0, text.stderr
    lines = {line.split()[0]: line for line in text.stdout.splitlines()}
    assert " subject=999 found=no " in lines[unknown["id"]]
    assert " subject=41 found=yes " in lines[member["id"]]


def test_the_officer_page_says_nothing_was_found_for_an_unknown_member(site: Site) -> None:
    officer = site.app.test_client()
    req = officer.post(
        "/privacy/officer/requests", data={"subject": "999", "kind": "delete", "channel": "written"}, headers=OFFICER
    ).get_json()
    assert (req["status"], req["found"]) == ("registered", False)

    page = officer.get(f"/privacy/officer/requests/{req['id']}", headers={"X-Test-Officer": "officer.kang"})
    assert NOTHING_FOUND in page.get_data(as_text=True)
    english = officer.get(f"/privacy/officer/requests/{req['id']}?lang=en", headers={"X-Test-Officer": "officer.kang"})
    assert "Nothing was found for this subject" in english.get_data(as_text=True)

    done = officer.post(f"/privacy/officer/requests/{req['id']}/complete", headers=OFFICER).get_json()
    assert (done["status"], done["found"]) == ("completed", False)


def test_a_request_for_a_member_says_something_was_found(site: Site) -> None:
    officer = site.app.test_client()
    access = officer.post(
        "/privacy/officer/requests", data={"subject": "41", "kind": "access", "channel": "written"}, headers=OFFICER
    ).get_json()
    assert access["found"] is True
    page = officer.get(f"/privacy/officer/requests/{access['id']}", headers={"X-Test-Officer": "officer.kang"})
    assert NOTHING_FOUND not in page.get_data(as_text=True)

    left = site.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "42"})
    assert (left.get_json()["status"], left.get_json()["found"]) == ("completed", True)


def test_a_subject_known_only_to_the_consent_ledger_is_found(site: Site) -> None:
    # No host record, but a consent decision of theirs: something is held, and withdrawn.
    visitor = site.app.test_client()
    visitor.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers={"X-Test-Subject": "77"})

    req = flask(
        site, "requests", "register", "--subject", "77", "--kind", "withdraw", "--channel", "written", "--scope", "all"
    )

    assert req["found"] is True
