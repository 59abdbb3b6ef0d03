"""Postponement, objections and the intake's identity record (issue 13), on SQLite,
PostgreSQL and MariaDB: an access request is postponed within its 10 days with a
reason and a new date (PIPA §35③, decree §41④); a refusal, a limited answer or a
postponement can be objected to by the member on the request's page or through the
officer, and the officer's decision is recorded and mailed: upheld, the request is
carried out; dismissed, it stands. The intake records how the requester was
identified and an agent's power of attorney (PIPA §38, decree §45-§46)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.member_site import PROBE_EMAIL, Site
from tests.test_officer import Desk, member_data, requests_in_db
from tests.test_requests_cli import flask, register

MEMBER = {"X-Test-Subject": "41"}


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


# -- postponement ---------------------------------------------------------------------------------
def test_the_officer_postpones_an_access_request_within_its_ten_days_and_the_member_is_told_why_and_until_when(
    site: Site, smtp: Any, clock: Any
) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="access").get_json()
    assert req["due_at"] == "2026-12-20T10:00:00+09:00" and req["postponement"] is None

    clock.set("2026-12-18T09:00:00+09:00")
    reason = "보관 중인 기록을 외부 백업에서 복원하는 중입니다."
    answer = desk.post(f"/privacy/officer/requests/{req['id']}/postpone", until="2026-12-28", reason=reason)
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["due_at"]) == ("registered", "2026-12-28T23:59:59+09:00")
    assert body["postponement"] == {
        "reason": reason,
        "postponed_at": "2026-12-18T09:00:00+09:00",
        "first_due_at": "2026-12-20T10:00:00+09:00",
        "until": "2026-12-28T23:59:59+09:00",
    }
    (mail,) = outbox.wait(1)
    assert mail["to"] == [PROBE_EMAIL]
    assert "열람 연기" in mail["subject"] and "postponed" in mail["subject"]
    assert reason in mail["body"] and "2026-12-28" in mail["body"] and "이의제기 방법" in mail["body"]

    clock.set("2026-12-21T09:00:00+09:00")  # past the first due date, not the new one
    listed = {r["id"]: r for r in flask(site, "privacy", "requests", "list", "--format", "json").json()}
    assert listed[req["id"]]["overdue"] is False
    html = desk.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True)
    assert 'id="request-postponement"' in html and reason in html

    # The reason is gone: access is given at once (the officer completes it).
    assert desk.post(f"/privacy/officer/requests/{req['id']}/complete").get_json()["status"] == "completed"
    assert "열람" in outbox.wait(2)[1]["subject"]


def test_a_late_or_backward_postponement_or_one_of_another_kind_is_refused_listing_every_problem(
    site: Site, smtp: Any, clock: Any
) -> None:
    _, _, outbox = smtp
    access = register(site, "--subject", "41", "--kind", "access", "--channel", "written").json()["id"]
    stop = register(site, "--subject", "41", "--kind", "stop", "--channel", "email", "--scope", "all").json()["id"]
    before = requests_in_db(site)

    earlier = flask(site, "privacy", "requests", "postpone", access, "--until", "2026-12-15", "--reason", " ")
    assert earlier.exit_code == 1
    assert "until: the new date must be after the current due date" in earlier.stderr
    assert "reason: the just reason" in earlier.stderr  # every problem, not the first
    not_a_date = flask(site, "privacy", "requests", "postpone", access, "--until", "soon", "--reason", "x")
    assert not_a_date.exit_code == 1 and "'soon' is not a date" in not_a_date.stderr
    other_kind = flask(site, "privacy", "requests", "postpone", stop, "--until", "2026-12-28", "--reason", "x")
    assert other_kind.exit_code == 1 and "only an access request can be postponed" in other_kind.stderr

    clock.set("2026-12-21T09:00:00+09:00")  # the 10 days are over: too late to postpone
    late = flask(site, "privacy", "requests", "postpone", access, "--until", "2026-12-28", "--reason", "x")
    assert late.exit_code == 1 and "must be notified before the answer is due" in late.stderr
    assert requests_in_db(site) == before and outbox.messages == []


# -- objections -----------------------------------------------------------------------------------
def test_the_member_objects_to_a_refusal_on_its_page_and_the_upheld_objection_carries_the_stop_out(
    site: Site, smtp: Any
) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    member = Desk(site, MEMBER)
    req = desk.register(subject="41", kind="stop", scope="", purpose="statistics_advertising").get_json()
    desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="contract_impossible", reason="계약 이행 곤란")
    page = member.get(f"/privacy/requests/{req['id']}", json=False).get_data(as_text=True)
    assert 'id="object"' in page and 'name="csrf_token"' in page

    statement = "광고 목적 처리는 계약 이행과 관계가 없습니다."
    objected = member.post(f"/privacy/requests/{req['id']}/objection", statement=statement)
    assert objected.status_code == 201
    (objection,) = objected.get_json()["objections"]
    assert (objection["status"], objection["channel"], objection["statement"]) == ("open", "web", statement)
    assert objection["objected_to"]["ground"] == "contract_impossible"
    again = member.post(f"/privacy/requests/{req['id']}/objection", statement="또")
    assert again.status_code == 400 and "waiting for the officer's decision" in again.get_json()["message"]
    stranger = Desk(site, {"X-Test-Subject": "42"}).post(f"/privacy/requests/{req['id']}/objection", statement="x")
    assert stranger.status_code == 404
    assert member.post(f"/privacy/requests/{req['id']}/objection", csrf=False, statement="x").status_code == 400

    html = desk.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True)
    assert 'id="decide-objection"' in html and statement in html
    decided = desk.post(
        f"/privacy/officer/requests/{req['id']}/objection/decision", decision="upheld", reason="이의가 타당합니다."
    ).get_json()
    assert decided["status"] == "completed" and decided["refusal"] is None
    assert decided["objections"][0]["status"] == "upheld"
    assert decided["objections"][0]["decided_by"] == "officer.kang"
    assert decided["erased_items"] == ["cookie", "device_info"]  # the stop was carried out
    assert member_data(site) == (1, 1, 1)  # membership and the rest stay

    subjects = [m["subject"] for m in outbox.wait(4)]
    assert len(subjects) == 4 and all(m["to"] == [PROBE_EMAIL] for m in outbox.messages)
    assert "거절" in subjects[0] and "이의제기 접수" in subjects[1]
    # The decision is mailed last, once the request has been carried out.
    assert "처리정지 처리 완료" in subjects[2] and "이의제기 처리 결과" in subjects[3]
    assert "이의를 받아들여" in outbox.messages[3]["body"] and "이의가 타당합니다." in outbox.messages[3]["body"]


def test_a_written_objection_dismissed_from_the_shell_is_recorded_with_its_reason(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    args = ("--subject", "41", "--kind", "stop", "--channel", "written", "--scope", "all")
    request_id = register(site, *args).json()["id"]
    nothing = flask(site, "privacy", "requests", "object", request_id, "--statement", "x", "--channel", "written")
    assert nothing.exit_code == 1 and "only a refusal, a limited answer or a postponement" in nothing.stderr
    reason = "법령상 보관 의무"
    flask(site, "privacy", "requests", "refuse", request_id, "--ground", "legal_obligation", "--reason", reason).json()
    objected = flask(
        site, "privacy", "requests", "object", request_id, "--statement", "부당합니다", "--channel", "written"
    ).json()
    assert objected["objections"][0]["registered_by"].startswith("cli")

    empty = flask(
        site, "privacy", "requests", "decide-objection", request_id, "--decision", "dismissed", "--reason", ""
    )
    assert empty.exit_code == 1 and "reason: the reason for the decision" in empty.stderr
    decided = flask(
        site, "privacy", "requests", "decide-objection", request_id,
        "--decision", "dismissed", "--reason", "전자상거래법상 보관 의무가 있습니다.", "--officer", "officer.lee",
    ).json()  # fmt: skip
    assert decided["status"] == "refused" and decided["refusal"]["reason"] == reason
    (objection,) = decided["objections"]
    assert (objection["status"], objection["decided_by"]) == ("dismissed", "officer.lee")
    assert objection["decision_reason"] == "전자상거래법상 보관 의무가 있습니다."
    assert member_data(site) == (1, 1, 1)
    twice = flask(site, "privacy", "requests", "decide-objection", request_id, "--decision", "upheld", "--reason", "x")
    assert twice.exit_code == 1 and "no objection waiting" in twice.stderr

    mails = outbox.wait(3)
    assert "이의제기 처리 결과" in mails[2]["subject"]
    assert "이의를 받아들이지 않습니다" in mails[2]["body"] and "1833-6972" in mails[2]["body"]


def test_an_upheld_objection_to_a_limited_access_answer_releases_the_withheld_part(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="access").get_json()
    desk.post(
        f"/privacy/officer/requests/{req['id']}/refuse",
        ground="access_limited_by_law",
        reason="수사기관의 요청으로 열람이 제한됩니다.",
        withheld="source:payments",
    )
    member = site.app.test_client()
    assert "payments" not in member.get("/privacy/export", headers=MEMBER).get_json()["sources"]
    desk.post(f"/privacy/officer/requests/{req['id']}/objection", statement="전화로 이의 제기", channel="email")
    decided = desk.post(
        f"/privacy/officer/requests/{req['id']}/objection/decision", decision="upheld", reason="제한 사유 해소"
    ).get_json()
    assert (decided["status"], decided["withheld"], decided["limitation"]) == ("completed", [], None)
    assert decided["objections"][0]["objected_to"]["withheld"] == ["source:payments"]
    assert member.get("/privacy/export", headers=MEMBER).get_json()["sources"]["payments"]["records"]
    subjects = [m["subject"] for m in outbox.wait(4)]
    assert "열람 제한" in subjects[0] and "처리 완료" in subjects[2] and "이의제기 처리 결과" in subjects[3]


# -- identity and agents ---------------------------------------------------------------------------
def test_the_intake_records_how_the_requester_was_identified_and_an_agents_power_of_attorney(
    site: Site, smtp: Any
) -> None:
    desk = Desk(site)
    missing = desk.register(subject="41", kind="access", identity_check="fingerprint", requester="agent")
    assert missing.status_code == 400
    message = missing.get_json()["message"]
    assert "identity_check: 'fingerprint'" in message and "needs the reference of the power of attorney" in message
    assert requests_in_db(site) == []

    req = desk.register(
        subject="41", kind="access", identity_check="id_document", requester="agent", agent_reference="위임장 2026-117"
    ).get_json()
    assert (req["identity_check"], req["requester"], req["agent_reference"]) == (
        "id_document",
        "agent",
        "위임장 2026-117",
    )
    html = desk.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True)
    assert "신분증 확인" in html and "대리인 (위임을 받은 자)" in html and "위임장 2026-117" in html

    by_shell = register(
        site, "--subject", "42", "--kind", "delete", "--channel", "email", "--identity-check", "registered_email"
    ).json()
    assert (by_shell["identity_check"], by_shell["requester"], by_shell["agent_reference"]) == (
        "registered_email",
        "subject",
        None,
    )
    index = desk.get("/privacy/officer/", json=False).get_data(as_text=True)
    assert 'name="identity_check"' in index and 'name="agent_reference"' in index
