"""Who decided a request, on SQLite, PostgreSQL and MariaDB: the officer who completes
or refuses one, on the officer pages or from the shell, is stored with it, returned in
its JSON and shown on its page; a withdrawal, carried out at once, has no one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.member_site import Site
from tests.test_officer import Desk, member_data, requests_in_db
from tests.test_requests_cli import flask, register


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


def test_the_officer_who_completes_or_refuses_a_request_is_recorded_and_shown_on_its_page(
    site: Site, smtp: Any
) -> None:
    intake = Desk(site)  # officer.kang registers; officer.lee decides
    deciding = Desk(site, {"X-Test-Officer": "officer.lee"})
    deletion = intake.register(subject="41", kind="delete").get_json()
    stop = intake.register(subject="42", kind="stop", scope="all").get_json()
    withdrawal = intake.register(subject="42", kind="withdraw", scope="all").get_json()
    assert deletion["decided_by"] is None and stop["decided_by"] is None  # nobody has decided yet
    assert withdrawal["decided_by"] is None  # carried out at once: no officer decided it

    completed = deciding.post(f"/privacy/officer/requests/{deletion['id']}/complete", json=False)
    assert completed.status_code == 303
    refused = deciding.post(
        f"/privacy/officer/requests/{stop['id']}/refuse", ground="legal_obligation", reason="세법상 보관 의무"
    )
    assert (refused.get_json()["status"], refused.get_json()["decided_by"]) == ("refused", "officer.lee")

    stored = {r["id"]: (r["status"], r["registered_by"], r["decided_by"]) for r in requests_in_db(site)}
    assert stored == {
        deletion["id"]: ("completed", "officer.kang", "officer.lee"),
        stop["id"]: ("refused", "officer.kang", "officer.lee"),
        withdrawal["id"]: ("completed", "officer.kang", None),
    }
    assert member_data(site) == (0, 0, 0)  # the deletion was carried out
    for req in (deletion, stop):
        assert intake.get(f"/privacy/officer/requests/{req['id']}").get_json()["decided_by"] == "officer.lee"
        html = intake.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True)
        assert '<dt>처리자</dt><dd id="request-decided-by">officer.lee</dd>' in html
    html = intake.get(f"/privacy/officer/requests/{withdrawal['id']}", json=False).get_data(as_text=True)
    assert "처리자" not in html


def test_the_officer_who_completes_or_refuses_from_the_shell_is_recorded_and_printed(site: Site) -> None:
    deletion = register(site, "--subject", "41", "--kind", "delete", "--channel", "written").json()["id"]
    stop = register(site, "--subject", "42", "--kind", "stop", "--channel", "email", "--scope", "all").json()["id"]

    completed = flask(site, "privacy", "requests", "complete", deletion, "--officer", "officer.lee").json()
    assert (completed["status"], completed["decided_by"]) == ("completed", "officer.lee")
    assert member_data(site) == (0, 0, 0)
    refused = flask(
        site, "privacy", "requests", "refuse", stop, "--ground", "legal_obligation", "--reason", "세법상 보관 의무"
    ).json()
    assert refused["status"] == "refused"
    assert refused["decided_by"].startswith("cli")  # no --officer: the OS user

    stored = {r["id"]: r["decided_by"] for r in requests_in_db(site)}
    assert stored == {deletion: "officer.lee", stop: refused["decided_by"]}
    listed = {r["id"]: r["decided_by"] for r in flask(site, "privacy", "requests", "list", "--format", "json").json()}
    assert listed == stored
