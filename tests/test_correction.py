"""Correction (정정, PIPA §36, 시행령 §43) through the member site's real User model,
on SQLite, PostgreSQL and MariaDB: the member's own at once, the officer's written
intake due in ten days, every bad value refused before anything changes, the
result mailed (Korean first), and neither the old nor the new value stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import event, select

from flask_casenote_privacy.storage.tables import outbox, requests
from tests.member_site import PROBE_EMAIL, Site, User

NEW_EMAIL = "corrected.member@example.kr"
NEW_NAME = "김민지나"
MEMBER = {"X-Test-Subject": "41"}
OFFICER = {"X-Test-Officer": "officer.kang"}


def user(site: Site, user_id: int = 41) -> tuple[str, str]:
    with site.Session() as s:
        row = s.get(User, user_id)
        assert row is not None
        return row.name, row.email


def stored_requests(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(requests)).mappings()]


def main_database_text(site: Site) -> str:
    """Every request and outbox row, as text: where a value must never be kept."""
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        rows = [*conn.execute(select(requests)).mappings(), *conn.execute(select(outbox)).mappings()]
    return json.dumps([{k: str(v) for k, v in r.items()} for r in rows], ensure_ascii=False)


def mails(site: Site, smtp: Any, count: int) -> list[dict[str, Any]]:
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    return list(smtp[2].wait(count))


def cli(site: Site, *args: str, input: str | None = None) -> Any:
    return site.app.test_cli_runner().invoke(args=["privacy", *args], input=input)


def test_member_corrects_name_and_email_at_once_and_the_export_shows_the_new_values(
    make_site: Callable[..., Site], smtp: Any
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    client = site.app.test_client()
    answer = client.post(
        "/privacy/rights/correct", json={"values": {"name": NEW_NAME, "email": NEW_EMAIL}}, headers=MEMBER
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    req = answer.get_json()
    assert (req["kind"], req["scope"], req["status"], req["channel"]) == ("correct", "items", "completed", "web")
    assert req["items"] == ["name", "email"] and req["corrected_items"] == ["name", "email"]

    # The host's table holds the new values; the other member is untouched.
    assert user(site) == (NEW_NAME, NEW_EMAIL)
    assert user(site, 42) == ("이서준", "other.member@example.kr")
    export = client.get("/privacy/export", headers=MEMBER).get_json()
    assert export["sources"]["users"]["records"] == [{"id": 41, "name": NEW_NAME, "email": NEW_EMAIL}]

    # The result goes to the address now on record, Korean first, without the values;
    # the old address is told too (a hijacked session cannot move the mail unnoticed).
    sent = mails(site, smtp, 2)
    assert sorted(m["to"][0] for m in sent) == sorted([NEW_EMAIL, PROBE_EMAIL])
    (mail,) = [m for m in sent if m["to"] == [NEW_EMAIL]]
    (old,) = [m for m in sent if m["to"] == [PROBE_EMAIL]]
    assert old["subject"] == mail["subject"] and NEW_EMAIL not in old["body"]
    assert "정정" in mail["subject"] and "correction" in mail["subject"]
    body = mail["body"]
    assert body.index("정정했습니다") < body.index("corrected")
    assert "이름, 이메일 주소" in body and "Name, Email address" in body
    assert NEW_EMAIL not in body and NEW_NAME not in body and req["request_id"] in body

    # The request names the items only: once the mail is out, neither the old nor the
    # new value is kept anywhere in the main database's requests or outbox.
    (row,) = stored_requests(site)
    assert row["items"] == "name,email" and row["notify_to"] is None
    kept = main_database_text(site)
    for value in (NEW_NAME, NEW_EMAIL, '"김민지"', PROBE_EMAIL):
        assert value not in kept


def test_a_bad_correction_is_400_listing_every_problem_and_changes_nothing(
    make_site: Callable[..., Site], smtp: Any
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    client = site.app.test_client()
    answer = client.post(
        "/privacy/rights/correct",
        json={"values": {"name": "가" * 101, "email": "other.member@example.kr", "ip_address": "10.0.0.1"}},
        headers=MEMBER,
    )
    assert answer.status_code == 400
    message = answer.get_json()["message"]
    assert "'ip_address' cannot be corrected" in message and "correctable: name, email" in message
    answer = client.post(
        "/privacy/rights/correct",
        json={"values": {"name": "가" * 101, "email": "other.member@example.kr"}},
        headers=MEMBER,
    )
    message = answer.get_json()["message"]
    assert answer.status_code == 400
    assert "name: at most 100 characters" in message and "email: another member has that address" in message
    for values in ({"email": "not an address"}, {"name": "  "}, {"name": "a\x00b"}, {}, ["name"], {"email": 7}):
        answer = client.post("/privacy/rights/correct", json={"values": values}, headers=MEMBER)
        assert answer.status_code == 400, values
    assert client.post("/privacy/rights/correct", json={"values": {"name": "x"}}).status_code == 401

    assert user(site) == ("김민지", PROBE_EMAIL)
    assert stored_requests(site) == []
    assert mails(site, smtp, 0) == []


def test_a_written_correction_is_due_in_ten_days_and_carried_out_when_the_officer_completes_it(
    make_site: Callable[..., Site], smtp: Any
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    registered = cli(
        site, "requests", "register", "--subject", "41", "--kind", "correct", "--channel", "written", "--item", "email"
    )
    assert registered.exit_code == 0, registered.output
    req = json.loads(registered.stdout)
    assert (req["status"], req["items"]) == ("registered", ["email"])
    received, due = datetime.fromisoformat(req["received_at"]), datetime.fromisoformat(req["due_at"])
    assert (due - received).days == 10  # PIPA §36②/시행령 §43③: within ten days
    assert user(site) == ("김민지", PROBE_EMAIL)  # nothing changes before the officer decides

    # Completing without the value, or with a bad one, names the problem and changes nothing.
    missing = cli(site, "requests", "complete", req["id"], "--officer", "officer.kang")
    assert missing.exit_code == 1 and "values: give the new value of email" in missing.output
    bad = cli(site, "requests", "complete", req["id"], "--value", "email=nope", "--value", "name=x")
    assert bad.exit_code == 1
    assert "valid email address" in bad.output and "name not among the request's items" in bad.output
    assert user(site) == ("김민지", PROBE_EMAIL)

    # The value is read from stdin, out of the shell history, and never stored.
    done = cli(
        site, "requests", "complete", req["id"], "--officer", "officer.kang", "--value", "email=-", input=NEW_EMAIL
    )
    assert done.exit_code == 0, done.output
    finished = json.loads(done.stdout)
    assert (finished["status"], finished["decided_by"], finished["corrected_items"]) == (
        "completed",
        "officer.kang",
        ["email"],
    )
    assert user(site) == ("김민지", NEW_EMAIL)
    sent = mails(site, smtp, 2)  # the new address, and the old one
    assert sorted(m["to"][0] for m in sent) == sorted([NEW_EMAIL, PROBE_EMAIL])
    assert all("정정" in m["subject"] for m in sent)
    assert NEW_EMAIL not in main_database_text(site)


def test_the_officer_page_registers_a_correction_and_completes_it_with_the_written_value(
    make_site: Callable[..., Site], smtp: Any
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    client = site.app.test_client()
    page = client.get("/privacy/officer/", headers=OFFICER).get_data(as_text=True)
    assert 'name="item" value="email"' in page and 'value="correct"' in page
    answer = client.post(
        "/privacy/officer/requests",
        data={"subject": "41", "kind": "correct", "channel": "email", "scope": "items", "item": "name"},
        headers={**OFFICER, "Accept": "application/json"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    request_id = answer.get_json()["id"]
    form = client.get(f"/privacy/officer/requests/{request_id}", headers=OFFICER).get_data(as_text=True)
    assert 'name="value.name"' in form
    done = client.post(
        f"/privacy/officer/requests/{request_id}/complete",
        data={"value.name": NEW_NAME},
        headers={**OFFICER, "Accept": "application/json"},
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "completed"
    assert user(site) == (NEW_NAME, PROBE_EMAIL)
    (mail,) = mails(site, smtp, 1)
    assert mail["to"] == [PROBE_EMAIL] and "이름" in mail["body"]


def test_a_source_that_cannot_correct_is_named_nothing_is_changed_and_the_officer_completes_it_by_hand(
    make_site: Callable[..., Site], smtp: Any
) -> None:
    site = make_site(PRIVACY_CSRF=False)

    class Newsletter:  # a DataSource with no correct()
        items: ClassVar[dict[str, str]] = {"email": "address"}
        retention = None

        def export(self, subject: str) -> list[Any]:
            return []

        def erase(self, subject: str, items: Any = None) -> int:
            return 0

        def find(self, item: str, value: str) -> list[str]:
            return []

    site.privacy.register_source("newsletter", Newsletter())
    client = site.app.test_client()
    answer = client.post(
        "/privacy/rights/correct", json={"values": {"email": NEW_EMAIL, "name": NEW_NAME}}, headers=MEMBER
    )
    assert answer.status_code == 400
    assert "'email' is held by newsletter, which cannot correct data" in answer.get_json()["message"]
    assert user(site) == ("김민지", PROBE_EMAIL)  # not even the name: nothing half-done
    assert stored_requests(site) == []

    # The officer can still register the written request, correct the other system by
    # hand, and complete it by hand; values for it are refused with the same reason.
    registered = cli(
        site, "requests", "register", "--subject", "41", "--kind", "correct", "--channel", "written", "--item", "email"
    )
    assert registered.exit_code == 0, registered.output
    request_id = json.loads(registered.stdout)["id"]
    refused = cli(site, "requests", "complete", request_id, "--value", f"email={NEW_EMAIL}")
    assert refused.exit_code == 1 and "held by newsletter" in refused.output and "--by-hand" in refused.output
    assert user(site) == ("김민지", PROBE_EMAIL)
    both = cli(site, "requests", "complete", request_id, "--by-hand", "--value", f"email={NEW_EMAIL}")
    assert both.exit_code == 1 and "not both" in both.output
    done = cli(site, "requests", "complete", request_id, "--by-hand", "--officer", "officer.kang")
    assert done.exit_code == 0, done.output
    finished = json.loads(done.stdout)
    assert (finished["status"], finished["corrected_items"], finished["by_hand"]) == ("completed", ["email"], True)
    (mail,) = mails(site, smtp, 1)
    assert "정정" in mail["subject"] and mail["to"] == [PROBE_EMAIL]


def test_with_orm_mode_a_correction_runs_the_host_mapper_events(make_site: Callable[..., Site]) -> None:
    site = make_site(PRIVACY_CSRF=False)
    # Registered again in ORM mode: each row is loaded and changed, so before_update runs.
    source = site.privacy._sources["users"]
    source.orm_delete = True
    seen: list[str] = []

    def audit(mapper: Any, connection: Any, target: User) -> None:
        seen.append(f"user {target.id} updated")

    event.listen(User, "before_update", audit)
    try:
        answer = site.app.test_client().post(
            "/privacy/rights/correct", json={"values": {"name": NEW_NAME}}, headers=MEMBER
        )
    finally:
        event.remove(User, "before_update", audit)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert seen == ["user 41 updated"]
    assert user(site) == (NEW_NAME, PROBE_EMAIL)
