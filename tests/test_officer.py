"""The privacy officer's pages, on SQLite, PostgreSQL and MariaDB: only the officer
gets in, every POST needs the CSRF token, written requests are registered with
their deadline, refusals erase nothing and tell the member how to object, and
every view or export of a member's data leaves an operator access record."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from flask_casenote_privacy.storage.tables import consent_events, operator_access
from flask_casenote_privacy.storage.tables import requests as requests_table
from tests.conftest import MEMBER_SITE_START
from tests.member_site import PROBE_EMAIL, Payment, SearchHistory, Site, User, crash_first_erase

OFFICER = {"X-Test-Officer": "officer.kang"}
JSON = {"Accept": "application/json"}
START = MEMBER_SITE_START


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


class Desk:
    """A browser session of the officer (or of someone pretending to be one)."""

    def __init__(self, site: Site, headers: dict[str, str] | None = None) -> None:
        self.client: FlaskClient = site.app.test_client()
        self.headers = OFFICER if headers is None else headers
        self.token = self.client.get("/privacy/consent", headers=JSON).get_json()["csrf_token"]

    def get(self, url: str, *, json: bool = True) -> Any:
        return self.client.get(url, headers={**self.headers, **(JSON if json else {})})

    def post(self, url: str, *, csrf: bool = True, json: bool = True, **form: Any) -> Any:
        data = {**form, **({"csrf_token": self.token} if csrf else {})}
        return self.client.post(url, data=data, headers={**self.headers, **(JSON if json else {})})

    def register(self, **form: Any) -> Any:
        return self.post("/privacy/officer/requests", **{"channel": "written", **form})


def requests_in_db(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(requests_table).order_by(requests_table.c.received_at)).mappings()]


def access_records(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(operator_access).order_by(operator_access.c.id)).mappings()]


def consent_event_count(site: Site) -> int:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(consent_events)).scalar() or 0)


def member_data(site: Site) -> tuple[int, int, int]:
    return site.count(User, 41), site.count(Payment, 41), site.count(SearchHistory, 41)


def seoul(site: Site, value: datetime) -> str:
    return value.astimezone(site.privacy.policy.tz).isoformat()


# -- who may use the pages -----------------------------------------------------------------
def test_anyone_but_the_officer_gets_403_on_every_officer_route(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    request_id = Desk(site).register(subject="41", kind="stop", purpose="statistics_advertising").get_json()["id"]
    before = (requests_in_db(site), access_records(site))
    routes: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/privacy/officer/", {}),
        (
            "POST",
            "/privacy/officer/requests",
            {"subject": "41", "kind": "withdraw", "channel": "written", "scope": "all"},
        ),
        ("GET", f"/privacy/officer/requests/{request_id}", {}),
        ("POST", f"/privacy/officer/requests/{request_id}/complete", {}),
        ("POST", f"/privacy/officer/requests/{request_id}/refuse", {"ground": "harm_to_others", "reason": "x"}),
        ("GET", "/privacy/officer/subjects/41/export?reason=request", {}),
        ("GET", "/privacy/officer/access-records", {}),
    ]
    for headers in ({}, {"X-Test-Subject": "41"}, {"X-Test-Officer": ""}):
        desk = Desk(site, headers)  # with a valid CSRF token: the refusal is about who, not how
        for method, url, form in routes:
            answer = desk.get(url) if method == "GET" else desk.post(url, **form)
            assert answer.status_code == 403, (headers, method, url)
            assert "officer" in answer.get_json()["message"]
    assert (requests_in_db(site), access_records(site)) == before
    assert member_data(site) == (1, 1, 1)
    assert outbox.messages == []


def test_officer_posts_without_a_valid_csrf_token_are_400_and_change_nothing(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    request_id = desk.register(subject="41", kind="stop", purpose="statistics_advertising").get_json()["id"]
    before = (requests_in_db(site), access_records(site))
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/privacy/officer/requests", {"subject": "41", "kind": "withdraw", "channel": "written", "scope": "all"}),
        (f"/privacy/officer/requests/{request_id}/complete", {}),
        (f"/privacy/officer/requests/{request_id}/refuse", {"ground": "harm_to_others", "reason": "x"}),
    ]
    for url, form in posts:
        missing = desk.post(url, csrf=False, **form)
        assert missing.status_code == 400, url
        assert "CSRF" in missing.get_json()["message"]
        forged = desk.post(url, csrf=False, csrf_token="forged", **form)
        assert forged.status_code == 400, url
    assert (requests_in_db(site), access_records(site)) == before
    assert member_data(site) == (1, 1, 1)
    assert outbox.messages == []


# -- intake ------------------------------------------------------------------------------
def test_officer_registers_a_written_withdrawal_from_the_form_and_it_executes_at_once(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    index = desk.get("/privacy/officer/", json=False).get_data(as_text=True)
    form_token = re.search(
        r'<form method="post" action="/privacy/officer/requests" id="register">\s*'
        r'<input type="hidden" name="csrf_token" value="([^"]+)">',
        index,
    )
    assert form_token, index
    desk.token = form_token.group(1)  # the hidden field of the page itself

    answer = desk.register(subject="41", kind="withdraw", scope="all", json=False)
    assert answer.status_code == 303
    (req,) = requests_in_db(site)
    assert answer.headers["Location"].endswith(f"/privacy/officer/requests/{req['id']}")
    assert (req["kind"], req["channel"], req["status"]) == ("withdraw", "written", "completed")
    assert req["registered_by"] == "officer.kang"
    assert req["notify_to"] is None  # the address is not kept once the member was told
    assert member_data(site) == (0, 0, 0)
    assert site.count(User, 42) == 1

    messages = outbox.wait(2)
    assert [m["to"] for m in messages] == [[PROBE_EMAIL], [PROBE_EMAIL]]
    assert "동의철회 접수" in messages[0]["subject"]
    assert "처리 완료" in messages[1]["subject"] and "destroyed" in messages[1]["body"]

    page = desk.get(answer.headers["Location"], json=False)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "completed" in html and "officer.kang" in html and "대금결제" in html
    assert "처리 완료</button>" not in html  # nothing left to decide


def test_a_stop_request_is_due_in_ten_days_and_its_refusal_erases_nothing_and_explains_the_objection(
    site: Site, smtp: Any, clock: Any
) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    consents_before = consent_event_count(site)
    index = desk.get("/privacy/officer/", json=False).get_data(as_text=True)
    assert '<input type="radio" name="scope" value="">' in index  # the form can leave 'all' for purposes
    # As the browser sends the form: the purposes-only radio (empty scope) and a ticked purpose.
    registered = desk.register(subject="41", kind="stop", channel="email", scope="", purpose="statistics_advertising")
    assert registered.status_code == 201
    req = registered.get_json()
    assert (req["kind"], req["status"], req["purposes"]) == ("stop", "registered", ["statistics_advertising"])
    assert req["received_at"] == "2026-12-10T10:00:00+09:00"
    assert req["due_at"] == "2026-12-20T10:00:00+09:00"  # 10 days after receipt
    assert req["overdue"] is False

    clock.set("2026-12-15T09:00:00+09:00")
    reason = "분쟁 중인 다른 회원의 권리 보호를 위해 처리를 계속합니다."
    refused = desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="harm_to_others", reason=reason)
    assert refused.status_code == 200
    body = refused.get_json()
    assert body["status"] == "refused"
    assert body["refusal"] == {"ground": "harm_to_others", "reason": reason}
    assert body["completed_at"] == "2026-12-15T09:00:00+09:00"

    # Nothing is erased: the member, the payments, the history and the consents all stay.
    assert member_data(site) == (1, 1, 1)
    assert consent_event_count(site) == consents_before

    (mail,) = outbox.wait(1)
    assert mail["to"] == [PROBE_EMAIL]
    assert "처리정지 요구 거절" in mail["subject"] and "processing stop request was refused" in mail["subject"]
    text = mail["body"]
    assert "다른 사람의 생명·신체를 해할 우려" in text  # the ground, in Korean
    assert "제37조 제2항 제2호" in text
    assert reason in text
    assert "contact@casenote.kr" in text and "강효은" in text
    assert "이의" in text and "How to object" in text
    assert text.index("이의") < text.index("-----") < text.index("How to object")  # Korean, English below
    assert "risk of harming another person" in text
    assert requests_in_db(site)[0]["notify_to"] is None

    again = desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="harm_to_others", reason=reason)
    assert again.status_code == 400 and "already refused" in again.get_json()["message"]
    assert desk.post(f"/privacy/officer/requests/{req['id']}/complete").status_code == 400
    assert len(outbox.messages) == 1


def test_refusal_on_an_unknown_ground_is_400_listing_the_valid_ones_and_changes_nothing(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    request_id = desk.register(subject="41", kind="stop", scope="all").get_json()["id"]
    before = requests_in_db(site)
    answer = desk.post(f"/privacy/officer/requests/{request_id}/refuse", ground="too_busy", reason="")
    assert answer.status_code == 400
    message = answer.get_json()["message"]
    assert "'too_busy'" in message
    assert "legal_obligation, harm_to_others, contract_impossible" in message
    assert "reason" in message  # every problem, not just the first
    assert requests_in_db(site) == before
    assert before[0]["status"] == "registered"
    assert member_data(site) == (1, 1, 1)
    assert outbox.messages == []
    assert desk.post("/privacy/officer/requests/nope/refuse", ground="legal_obligation", reason="x").status_code == 404


def test_bad_intake_is_400_and_registers_nothing(site: Site) -> None:
    desk = Desk(site)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subject": "41", "kind": "forget", "channel": "written", "scope": "all"}, "kind"),
        ({"subject": "41", "kind": "withdraw", "channel": "fax", "scope": "all"}, "channel"),
        ({"subject": "", "kind": "stop", "channel": "written", "scope": "all"}, "subject"),
        ({"subject": "41", "kind": "withdraw", "channel": "written", "purpose": "member_management"}, "not consent"),
        ({"subject": "41", "kind": "stop", "channel": "written", "scope": "all", "purpose": "security"}, "not both"),
    ]
    for form, message in cases:
        answer = desk.post("/privacy/officer/requests", **form)
        assert answer.status_code == 400, form
        assert message in answer.get_json()["message"], form
    assert requests_in_db(site) == []
    assert member_data(site) == (1, 1, 1)


def test_a_withdrawal_cannot_be_refused_and_a_crashed_one_is_rerun_by_completing_it(
    site: Site, smtp: Any, clock: Any
) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    done = desk.register(subject="42", kind="withdraw", scope="all").get_json()
    assert done["status"] == "completed"
    refused = desk.post(f"/privacy/officer/requests/{done['id']}/refuse", ground="legal_obligation", reason="x")
    assert refused.status_code == 400

    # Member 41's withdrawal crashes half way (after the archive, before the erasure).
    crash_first_erase(site)
    with pytest.raises(RuntimeError, match="power cut"):
        desk.register(subject="41", kind="withdraw", scope="all")
    clock.set("2026-12-10T10:05:00+09:00")
    listed = desk.get("/privacy/officer/").get_json()["requests"]
    crashed = listed[0]  # left registered past its (immediate) due time: overdue, first
    assert (crashed["subject"], crashed["kind"], crashed["status"], crashed["overdue"]) == (
        "41",
        "withdraw",
        "registered",
        True,
    )
    assert site.count(User, 41) == 1

    refused = desk.post(f"/privacy/officer/requests/{crashed['id']}/refuse", ground="legal_obligation", reason="x")
    assert refused.status_code == 400
    assert "cannot be refused" in refused.get_json()["message"]
    completed = desk.post(f"/privacy/officer/requests/{crashed['id']}/complete")
    assert completed.status_code == 200
    assert completed.get_json()["status"] == "completed"
    assert member_data(site) == (0, 0, 0)
    # Member 42's two notices and member 41's two (registered before the crash, completed).
    assert [m["to"] for m in outbox.wait(4) if m["to"] == [PROBE_EMAIL]] == [[PROBE_EMAIL], [PROBE_EMAIL]]


# -- the list --------------------------------------------------------------------------------
def test_the_list_shows_overdue_requests_first(site: Site, clock: Any) -> None:
    desk = Desk(site)
    start = datetime.fromisoformat(START)
    stop = desk.register(subject="41", kind="stop", purpose="statistics_advertising").get_json()
    clock.set(start + timedelta(days=1))
    withdrawal = desk.register(subject="42", kind="withdraw", scope="all").get_json()
    clock.set(start + timedelta(days=5))
    access = desk.register(subject="41", kind="access").get_json()
    assert access["due_at"] == "2026-12-25T10:00:00+09:00"

    clock.set(start + timedelta(days=11))  # past the stop request's due date only
    listed = desk.get("/privacy/officer/").get_json()["requests"]
    assert [r["id"] for r in listed] == [stop["id"], access["id"], withdrawal["id"]]
    assert [(r["status"], r["overdue"]) for r in listed] == [
        ("registered", True),
        ("registered", False),
        ("completed", False),
    ]

    html = desk.get("/privacy/officer/", json=False).get_data(as_text=True)
    assert "요청 관리" in html and "서면·이메일 요청 등록" in html
    assert html.count("<strong>기한 초과</strong>") == 1
    assert html.index(stop["id"][:8]) < html.index(access["id"][:8]) < html.index(withdrawal["id"][:8])
    page = desk.get(f"/privacy/officer/requests/{stop['id']}", json=False).get_data(as_text=True)
    assert "(기한 초과)" in page and 'name="ground"' in page and "처리 완료" in page


# -- access requests ----------------------------------------------------------------------
def test_an_access_request_completed_by_the_officer_tells_the_member_where_to_read_their_data(
    site: Site, smtp: Any
) -> None:
    _, _, outbox = smtp
    member = site.app.test_client()
    member.get("/search", headers={"X-Test-Subject": "41"})
    with site.app.app_context():
        site.privacy.record_provision("41", recipient="nicepay", items=["card_number"])
    desk = Desk(site)
    req = desk.register(subject="41", kind="access", channel="written").get_json()
    assert (req["status"], req["due_at"]) == ("registered", "2026-12-20T10:00:00+09:00")
    assert outbox.messages == []  # nothing to tell until it is done

    completed = desk.post(f"/privacy/officer/requests/{req['id']}/complete")
    assert completed.status_code == 200 and completed.get_json()["status"] == "completed"
    (mail,) = outbox.wait(1)
    assert mail["to"] == [PROBE_EMAIL]
    assert "열람" in mail["subject"]
    assert "http://localhost/privacy/export" in mail["body"]
    assert member_data(site) == (1, 1, 1)  # reading erases nothing

    data = member.get("/privacy/export", headers={"X-Test-Subject": "41"}).get_json()
    assert {"sources", "consent_history", "access_log", "provisions", "archived"} <= data.keys()
    assert data["sources"]["users"]["records"][0]["email"] == PROBE_EMAIL
    assert data["sources"]["payments"]["records"][0]["amount"] == 19900
    assert "/search" in {a["path"] for a in data["access_log"]}
    assert data["provisions"][0]["recipient"] == "nicepay"
    assert data["archived"] == []
    assert [(r["kind"], r["status"]) for r in data["requests"]] == [("access", "completed")]
    officer_copy = desk.get("/privacy/officer/subjects/41/export?reason=request").get_json()
    assert officer_copy["sources"] == data["sources"]
    assert member.get("/privacy/export").status_code == 401  # not signed in


# -- operator access records --------------------------------------------------------------------
def test_every_officer_view_and_export_writes_an_operator_access_record(make_site: Callable[..., Site]) -> None:
    # 08:00 in Seoul on a leap day is still 28 February in UTC: the year is counted in Seoul.
    site = make_site(start="2028-02-29T08:00:00+09:00")
    desk = Desk(site)
    assert access_records(site) == []
    desk.get("/privacy/officer/")
    request_id = desk.register(subject="41", kind="stop", purpose="statistics_advertising").get_json()["id"]
    desk.get(f"/privacy/officer/requests/{request_id}", json=False)
    desk.get("/privacy/officer/subjects/41/export?reason=request")
    desk.post(f"/privacy/officer/requests/{request_id}/refuse", ground="legal_obligation", reason="세법상 보관 의무")

    rows = access_records(site)
    assert [(r["subject"], r["task"]) for r in rows] == [
        (None, "list requests"),
        ("41", f"register stop request {request_id}"),
        ("41", f"view request {request_id}"),
        ("41", "export subject data"),
        ("41", f"refuse request {request_id}"),
    ]
    assert {(r["operator"], r["ip"]) for r in rows} == {("officer.kang", "127.0.0.1")}
    for row in rows:
        assert seoul(site, row["accessed_at"]) == "2028-02-29T08:00:00+09:00"
        assert seoul(site, row["expires_at"]) == "2029-02-28T08:00:00+09:00"  # 1 year, Seoul calendar

    listed = desk.get("/privacy/officer/access-records?subject=41").get_json()["records"]
    assert len(listed) == 4
    assert listed[0] == {
        "operator": "officer.kang",
        "accessed_at": "2028-02-29T08:00:00+09:00",
        "ip": "127.0.0.1",
        "subject": "41",
        "task": f"register stop request {request_id}",
        "reason": None,
        "until": "2029-02-28T08:00:00+09:00",
    }
    # Append-only: there is no way to change or remove a record, and they accumulate.
    for method in ("put", "patch", "delete", "post"):
        answer = getattr(desk.client, method)("/privacy/officer/access-records", headers={**OFFICER, **JSON})
        assert answer.status_code == 405, method
    desk.get("/privacy/officer/subjects/41/export?reason=request")
    assert access_records(site)[:5] == rows
    assert len(access_records(site)) == 6


def test_operator_access_records_can_be_kept_two_years(make_site: Callable[..., Site]) -> None:
    site = make_site(start="2028-02-29T08:00:00+09:00", PRIVACY_OPERATOR_ACCESS_PERIOD="P2Y")
    Desk(site).get("/privacy/officer/subjects/41/export?reason=request")
    (row,) = access_records(site)
    assert (row["operator"], row["subject"], row["task"]) == ("officer.kang", "41", "export subject data")
    assert seoul(site, row["expires_at"]) == "2030-02-28T08:00:00+09:00"
