"""A host may give a departed member's id to someone new (SQLite's INTEGER PRIMARY KEY
does; so can any sequence after a restore). On SQLite, PostgreSQL and MariaDB, the new
member never sees or inherits anything of the one who left: export, consents,
requests, access log, provisions, archived records; and the departed member's
withdrawal link can never erase the new member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flask_casenote_privacy import InvalidRequest
from flask_casenote_privacy.rights.export import export_subject
from flask_casenote_privacy.rights.requests import register_request
from tests.member_site import PROBE_EMAIL, Site, User

JSON = {"Accept": "application/json"}
MEMBER = {"X-Test-Subject": "41"}


def csrf(client: Any, **headers: str) -> dict[str, str]:
    token = client.get("/privacy/consent", headers={**JSON, **headers}).get_json()["csrf_token"]
    return {"X-CSRF-Token": token, **JSON, **headers}


@pytest.fixture
def departed(make_site: Callable[..., Site]) -> tuple[Site, str, str]:
    """Member 41 uses the site, asks for a link, withdraws; the host then gives id 41
    to someone new. Returns (site, the old member's request id, their unused link)."""
    site = make_site()
    client = site.app.test_client()
    client.post("/privacy/consent", json={"purposes": {"statistics_advertising": True}}, headers=csrf(client, **MEMBER))
    client.get("/search", headers=MEMBER)
    with site.app.app_context():
        site.privacy.record_provision("41", recipient="nicepay", items=["card_number"])
        link = site.privacy.services.withdraw_tokens.make("41")
    done = client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER)).get_json()
    assert done["status"] == "completed"
    site.add_member(41, "박새롬", "new.member@example.kr", [])  # the id is given again
    return site, done["request_id"], link


def test_the_new_member_sees_nothing_of_the_departed_one(departed: tuple[Site, str, str]) -> None:
    site, request_id, _ = departed
    client = site.app.test_client()
    export = client.get("/privacy/export", headers=MEMBER).get_json()
    assert [r["name"] for r in export["sources"]["users"]["records"]] == ["박새롬"]
    for key in ("consent_history", "requests", "provisions", "archived", "archived_records"):
        assert export[key] == [], key
    assert all(row.get("path") != "/search" for row in export["access_log"])
    assert client.get(f"/privacy/requests/{request_id}", headers={**JSON, **MEMBER}).status_code == 404
    # What the law keeps of the departed member is still kept, under their own identity.
    with site.app.app_context():
        kept = export_subject(site.privacy.services, "41")
    assert [r["data"]["amount"] for r in kept["archived_records"]] == [19900]


def test_the_new_member_inherits_no_consent(departed: tuple[Site, str, str]) -> None:
    site, _, _ = departed
    state = site.app.test_client().get("/privacy/consent", headers={**JSON, **MEMBER}).get_json()
    assert state["granted"] == []


def test_the_departed_members_link_cannot_erase_the_new_member(departed: tuple[Site, str, str]) -> None:
    site, _, link = departed
    client = site.app.test_client()
    assert client.get(f"/privacy/withdraw/confirm/{link}", headers=JSON).status_code == 400
    answer = client.post(f"/privacy/withdraw/confirm/{link}", headers=csrf(client))
    assert answer.status_code == 400 and answer.get_json()["error"] == "token_invalid"
    assert site.count(User, 41) == 1  # the new member is untouched


def test_the_new_members_own_records_are_theirs_and_a_third_member_is_new_again(
    departed: tuple[Site, str, str],
) -> None:
    site, _, _ = departed
    client = site.app.test_client()
    client.post("/privacy/consent", json={"purposes": {"service_improvement": True}}, headers=csrf(client, **MEMBER))
    mine = client.get("/privacy/export", headers=MEMBER).get_json()
    assert [e["purpose"] for e in mine["consent_history"]] == ["service_improvement"]
    second = mine["subject"]
    assert second.startswith("41#2-")
    client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER))
    site.add_member(41, "최하늘", "third.member@example.kr", [])
    third = client.get("/privacy/export", headers=MEMBER).get_json()
    assert third["subject"].startswith("41#3-") and third["consent_history"] == []


def test_an_officer_request_for_the_id_is_for_whoever_has_it_now(departed: tuple[Site, str, str]) -> None:
    site, _, _ = departed
    runner = site.app.test_cli_runner()
    result = runner.invoke(
        args=["privacy", "requests", "register", "--subject", "41", "--kind", "access", "--channel", "written"]
    )
    assert result.exit_code == 0, result.output
    assert '"subject": "41#2-' in result.stdout
    # A departed identity can take no new request (its data is gone).
    with site.app.app_context(), pytest.raises(InvalidRequest, match="has left"):
        register_request(site.privacy.services, subject="41", kind="access", channel="written")


def test_an_address_lookup_sends_the_link_of_whoever_has_the_address_now(
    departed: tuple[Site, str, str], smtp: Any
) -> None:
    site, _, _ = departed
    client = site.app.test_client()
    assert client.post("/privacy/withdraw/email", json={"email": PROBE_EMAIL}, headers=csrf(client)).status_code == 202
    assert (
        client.post(
            "/privacy/withdraw/email", json={"email": "new.member@example.kr"}, headers=csrf(client)
        ).status_code
        == 202
    )
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    sent = [m for m in smtp[2].messages if m["subject"] and "withdraw/confirm" in m["body"]]
    assert [m["to"] for m in sent] == [["new.member@example.kr"]]  # the departed address is no member's


def test_the_leaving_members_browser_still_sees_its_request_and_no_other_does(
    make_site: Callable[..., Site],
) -> None:
    site = make_site()
    leaving = site.app.test_client()
    done = leaving.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(leaving, **MEMBER)).get_json()
    status = leaving.get(f"/privacy/requests/{done['request_id']}", headers={**JSON, **MEMBER})
    assert status.status_code == 200 and status.get_json()["status"] == "completed"
    assert leaving.get(f"/privacy/requests/{done['request_id']}", headers=JSON).status_code == 200  # signed out too
    site.add_member(41, "박새롬", "new.member@example.kr", [])
    newcomer = site.app.test_client()
    assert newcomer.get(f"/privacy/requests/{done['request_id']}", headers={**JSON, **MEMBER}).status_code == 404
