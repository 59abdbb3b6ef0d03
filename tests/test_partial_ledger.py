"""A deletion of named items (PIPA §36①) and a consent withdrawn (§37) take the one
erasure path: the destruction ledger (파기 관리대장, `flask privacy purge --history`)
has a row for the request naming the items and the count, once per run, also when
the run is repeated after a crash. SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from tests.helpers import access_rows
from tests.member_site import Site
from tests.test_partial_rights import MEMBER, PHONE, Contact, cli, csrf, phone, site  # noqa: F401


def history(member_site: Site, run_id: str) -> list[dict[str, Any]]:
    out = cli(member_site, "purge", "--history", "--format", "json")
    assert out.exit_code == 0, out.output
    return [r for r in json.loads(out.stdout) if r["run_id"] == run_id]


def test_a_deleted_phone_number_is_in_the_destruction_ledger_once(site: Site) -> None:  # noqa: F811
    from flask_casenote_privacy.retention.erasure import erase_items_for_request

    client = site.app.test_client()
    answer = client.post(
        "/privacy/rights/delete-items", data={"item": "phone", "csrf_token": csrf(client)}, headers=MEMBER
    )
    assert answer.status_code == 303
    req = client.get(answer.headers["Location"], headers={**MEMBER, "Accept": "application/json"}).get_json()
    assert req["status"] == "completed" and phone(site) is None

    (row,) = history(site, req["id"])
    assert (row["target"], row["items"], row["count"], row["database"]) == ("host:contacts", "phone", 1, "main")
    assert row["retention"] == "membership" and "set to NULL" in row["method"] and PHONE not in json.dumps(row)

    # The same run again, as after a crash between the ledger row and the erasure (the
    # phone number still there): the field is emptied, and no second row is written.
    with site.Session.begin() as s:
        s.execute(update(Contact).where(Contact.user_id == 41).values(phone=PHONE))
    with site.app.app_context():
        erase_items_for_request(site.privacy.services, "41", req["id"], ["phone"])
    assert phone(site) is None
    assert [(r["target"], r["count"]) for r in history(site, req["id"])] == [("host:contacts", 1)]
    # ... and once it is done, again: nothing left to empty, nothing written.
    with site.app.app_context():
        assert erase_items_for_request(site.privacy.services, "41", req["id"], ["phone"]) == {}
    assert len(history(site, req["id"])) == 1


def test_an_officer_completed_deletion_is_in_the_ledger_too(site: Site) -> None:  # noqa: F811
    registered = cli(
        site, "requests", "register", "--subject", "41", "--kind", "delete", "--channel", "written", "--item", "phone"
    )
    req_id = json.loads(registered.stdout)["id"]
    assert history(site, req_id) == []  # registered is not destroyed
    assert cli(site, "requests", "complete", req_id, "--officer", "officer.kang").exit_code == 0
    assert [(r["target"], r["items"], r["count"]) for r in history(site, req_id)] == [("host:contacts", "phone", 1)]
    assert cli(site, "requests", "complete", req_id).exit_code == 1  # already completed: nothing runs again
    assert len(history(site, req_id)) == 1


def test_what_a_withdrawn_consent_alone_used_is_emptied_in_the_access_log_and_counted(site: Site) -> None:  # noqa: F811
    client = site.app.test_client()
    headers = {**MEMBER, "X-CSRF-Token": csrf(client), "User-Agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/120.0"}
    client.post("/privacy/consent", json={"purposes": {"statistics_advertising": True}}, headers=headers)
    client.get("/search", headers=headers)
    client.get("/search", headers=headers)
    assert access_rows(site.app)[-1]["user_agent"] is not None

    answer = client.post("/privacy/rights/stop", json={"purposes": ["statistics_advertising"]}, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    withdraw = answer.get_json()  # one consent purpose: the withdrawal, done at once
    assert withdraw["status"] == "completed" and "device_info" in withdraw["erased_items"]
    rows = history(site, withdraw["id"])
    log_rows = [r for r in rows if r["target"] == "access_log"]
    # The two searches and the withdrawal's own request (captured under the consent it ends).
    assert [r["count"] for r in log_rows] == [3] and "user_agent" in log_rows[0]["items"]
    assert all(r["user_agent"] is None for r in access_rows(site.app) if r["subject"] == "41")
