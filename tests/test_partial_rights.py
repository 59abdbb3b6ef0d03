"""Partial rights on SQLite, PostgreSQL and MariaDB: an optional item (a phone
number, in a host table of its own) deleted without leaving (PIPA §36), a required
one refused with the advice to leave instead, and named purposes suspended (PIPA
§37): consent withdrawn at once, a contract/law purpose stopped when the officer
completes it, after which capture no longer counts it. One page, one submit
each (PIPA §38④)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_casenote_privacy.storage.tables import requests
from tests.helpers import access_rows, ledger_rows
from tests.member_site import PROBE_EMAIL, Site, User

PHONE = "010-1234-5678"
MEMBER = {"X-Test-Subject": "41"}
JSON = {"Accept": "application/json"}
PHONE_ITEM = """[[items]]
id = "phone"
label = { ko = "휴대전화 번호", en = "Mobile phone number" }
collection = "signup"

"""
MEMBERSHIP = 'items = ["name", "email"]\nrecords = '
CONTRACT = 'en = "PIPA Art. 15(1)4 (performance of a contract)" }\nitems = ["name", "email"]'


class Base(DeclarativeBase):
    pass


class Contact(Base):
    """The member's optional phone number, in a table of its own."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)


def phone_policy(tmp_path: Path) -> str:
    """The casenote preset with an optional ``phone`` item that member management uses."""
    text = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text("utf-8")
    assert text.count(CONTRACT) == 1 and text.count('[[items]]\nid = "ip_address"') == 1
    text = text.replace(CONTRACT, CONTRACT.replace('"email"]', '"email", "phone"]'))
    text = text.replace('[[items]]\nid = "ip_address"', PHONE_ITEM + '[[items]]\nid = "ip_address"')
    assert text.count(MEMBERSHIP) == 1
    text = text.replace(MEMBERSHIP, MEMBERSHIP.replace('"email"]', '"email", "phone"]'))  # kept until withdrawal
    path = tmp_path / "phone-policy.toml"
    path.write_text(text, "utf-8")
    return str(path)


@pytest.fixture
def site(make_site: Callable[..., Site], tmp_path: Path) -> Site:
    site = make_site(PRIVACY_POLICY=phone_policy(tmp_path))
    Base.metadata.create_all(site.engine)
    site.privacy.register_model(Contact, subject="user_id", items={"phone": "phone"}, session_factory=site.Session)
    with site.Session.begin() as s:
        s.add_all([Contact(user_id=41, phone=PHONE), Contact(user_id=42, phone="010-9999-0000")])
    return site


def phone(site: Site, user_id: int = 41) -> str | None:
    with site.Session() as s:
        return s.scalar(select(Contact.phone).where(Contact.user_id == user_id))


def member_exists(site: Site) -> bool:
    with site.Session() as s:
        return s.get(User, 41) is not None


def csrf(client: Any) -> str:
    return str(client.get("/privacy/rights", headers={**MEMBER, **JSON}).get_json()["csrf_token"])


def mails(site: Site, smtp: Any, count: int) -> list[dict[str, Any]]:
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    return list(smtp[2].wait(count))


def cli(site: Site, *args: str) -> Any:
    return site.app.test_cli_runner().invoke(args=["privacy", *args])


def test_member_deletes_their_phone_number_from_the_page_and_stays_a_member(site: Site, smtp: Any) -> None:
    client = site.app.test_client()
    page = client.get("/privacy/rights", headers=MEMBER).get_data(as_text=True)
    assert 'name="item" value="phone"' in page  # optional: offered
    assert 'name="item" value="email"' not in page and 'name="item" value="name"' not in page  # required: not
    assert 'name="value.phone"' in page and 'name="value.email"' in page  # all three can be corrected
    english = client.get("/privacy/rights?lang=en", headers=MEMBER).get_data(as_text=True)
    assert "Delete optional items (stay a member)" in english and "Mobile phone number" in english

    answer = client.post(
        "/privacy/rights/delete-items", data={"item": "phone", "csrf_token": csrf(client)}, headers=MEMBER
    )
    assert answer.status_code == 303
    status_page = client.get(answer.headers["Location"], headers=MEMBER).get_data(as_text=True)
    assert "삭제" in status_page and "phone" in status_page
    req = client.get(answer.headers["Location"], headers={**MEMBER, **JSON}).get_json()
    assert (req["kind"], req["scope"], req["items"], req["status"]) == ("delete", "items", ["phone"], "completed")
    assert req["erased_items"] == ["phone"]

    assert phone(site) is None and phone(site, 42) == "010-9999-0000"
    assert member_exists(site)  # still a member: the name and email are there
    export = client.get("/privacy/export", headers=MEMBER).get_json()
    assert export["sources"]["contacts"]["records"] == [{"user_id": 41, "phone": None}]
    assert export["sources"]["users"]["records"][0]["email"] == PROBE_EMAIL

    (mail,) = mails(site, smtp, 1)
    assert mail["to"] == [PROBE_EMAIL] and "삭제" in mail["subject"]
    body = mail["body"]
    assert "휴대전화 번호" in body and "회원 자격은 그대로" in body and "Your membership continues" in body
    assert body.index("삭제했습니다") < body.index("deleted") and PHONE not in body


def test_deleting_a_required_item_is_400_saying_it_means_leaving_and_changes_nothing(site: Site, smtp: Any) -> None:
    client = site.app.test_client()
    token = csrf(client)
    answer = client.post(
        "/privacy/rights/delete-items",
        json={"items": ["email", "ip_address", "nope"]},
        headers={**MEMBER, "X-CSRF-Token": token},
    )
    assert answer.status_code == 400
    message = answer.get_json()["message"]
    assert "'email' is required for membership; deleting it means leaving the membership" in message
    assert "'ip_address' is not something the member gave at sign-up" in message
    assert "unknown item 'nope'" in message
    for body in ({"items": []}, {"items": "phone"}, {"items": ["phone", "phone"]}, {}):
        bad = client.post("/privacy/rights/delete-items", json=body, headers={**MEMBER, "X-CSRF-Token": token})
        assert bad.status_code == 400, body
    no_token = client.post("/privacy/rights/delete-items", data={"item": "phone"}, headers={**MEMBER, **JSON})
    assert no_token.status_code == 400 and "CSRF" in no_token.get_json()["message"]
    assert client.post("/privacy/rights/delete-items", json={"items": ["phone"]}).status_code in (400, 401)

    assert phone(site) == PHONE and member_exists(site)
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        assert conn.execute(select(requests.c.id)).first() is None
    assert mails(site, smtp, 0) == []


def test_a_written_partial_deletion_is_due_in_ten_days_and_done_when_the_officer_completes_it(
    site: Site, smtp: Any
) -> None:
    registered = cli(
        site, "requests", "register", "--subject", "41", "--kind", "delete", "--channel", "written", "--item", "phone"
    )
    assert registered.exit_code == 0, registered.output
    req = json.loads(registered.stdout)
    assert (req["scope"], req["items"], req["status"]) == ("items", ["phone"], "registered")
    assert (datetime.fromisoformat(req["due_at"]) - datetime.fromisoformat(req["received_at"])).days == 10
    assert phone(site) == PHONE
    refused = cli(
        site, "requests", "register", "--subject", "41", "--kind", "delete", "--channel", "written", "--item", "name"
    )
    assert refused.exit_code == 1 and "deleting it means leaving" in refused.output

    done = cli(site, "requests", "complete", req["id"], "--officer", "officer.kang")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["erased_items"] == ["phone"]
    assert phone(site) is None and member_exists(site)
    (mail,) = mails(site, smtp, 1)
    assert "삭제" in mail["subject"] and "휴대전화 번호" in mail["body"]


def test_member_suspends_a_consent_purpose_at_once_and_a_contract_purpose_once_the_officer_completes_it(
    site: Site, smtp: Any
) -> None:
    client = site.app.test_client()
    token = csrf(client)
    headers = {**MEMBER, "X-CSRF-Token": token}
    client.post("/privacy/consent", json={"purposes": {"statistics_advertising": True}}, headers=headers)
    page = client.get("/privacy/rights", headers=MEMBER).get_data(as_text=True)
    assert "동의를 즉시 철회합니다" in page and "10일 이내" in page and "제37조 제2항" in page

    answer = client.post(
        "/privacy/rights/stop", json={"purposes": ["statistics_advertising", "user_protection"]}, headers=headers
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    stop, withdraw = answer.get_json()["requests"]
    assert (stop["kind"], stop["purposes"], stop["status"]) == ("stop", ["user_protection"], "registered")
    assert (datetime.fromisoformat(stop["due_at"]) - datetime.fromisoformat(stop["received_at"])).days == 10
    assert (withdraw["kind"], withdraw["purposes"], withdraw["status"]) == (
        "withdraw",
        ["statistics_advertising"],
        "completed",
    )
    assert [(r["purpose"], r["granted"], r["channel"]) for r in ledger_rows(site.app)][-1] == (
        "statistics_advertising",
        False,
        "withdrawal",
    )
    client.get("/search", headers=MEMBER)
    assert "user_protection" in access_rows(site.app)[-1]["purposes"]  # not before the officer decides

    done = cli(site, "requests", "complete", stop["id"], "--officer", "officer.kang")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["suspended"] == ["user_protection"]
    assert [(r["purpose"], r["granted"], r["channel"]) for r in ledger_rows(site.app)][-1] == (
        "user_protection",
        False,
        "stop",
    )
    # Capture honours the suspension for this member only; the rest still apply.
    client.get("/search", headers=MEMBER)
    client.get("/search", headers={"X-Test-Subject": "42"})
    mine, theirs = access_rows(site.app)[-2:]
    assert "user_protection" not in mine["purposes"] and "member_management" in mine["purposes"]
    assert "security" in mine["purposes"] and "user_protection" in theirs["purposes"]
    assert mine["ip"] is not None  # security (a legal obligation) still uses it
    history = client.get("/privacy/export", headers=MEMBER).get_json()["consent_history"]
    assert {"purpose": "user_protection", "channel": "stop", "granted": False} in [
        {k: h[k] for k in ("purpose", "channel", "granted")} for h in history
    ]
    # A second stop of the same purpose records nothing twice.
    again = client.post("/privacy/rights/stop", json={"purposes": ["user_protection"]}, headers=headers).get_json()
    assert cli(site, "requests", "complete", again["id"]).exit_code == 0
    assert [r["purpose"] for r in ledger_rows(site.app)].count("user_protection") == 1

    messages = mails(site, smtp, 4)
    subjects = [m["subject"] for m in messages]
    assert len(messages) == 4 and all(m["to"] == [PROBE_EMAIL] for m in messages)
    assert any("이용자 보호 및 서비스 운영" in m["body"] for m in messages)
    assert any("통계 및 광고" in m["body"] for m in messages), subjects


def test_an_unknown_purpose_registers_nothing(site: Site) -> None:
    client = site.app.test_client()
    headers = {**MEMBER, "X-CSRF-Token": csrf(client)}
    answer = client.post("/privacy/rights/stop", json={"purposes": ["user_protection", "nope"]}, headers=headers)
    assert answer.status_code == 400 and "unknown purpose 'nope'" in answer.get_json()["message"]
    for body in ({"purposes": []}, {"purposes": "security"}, {}):
        assert client.post("/privacy/rights/stop", json=body, headers=headers).status_code == 400
    assert client.get("/privacy/officer/", headers={"X-Test-Officer": "o", **JSON}).get_json()["requests"] == []
