"""Deciding an objection is whole or nothing, on SQLite, PostgreSQL and MariaDB:
upholding the objection to a refused correction takes the new values (officer page
and ``requests decide-objection --value/--by-hand``); a missing or bad value changes
nothing and mails nothing; the decision and the reopening commit together, and a
rerun carries out a request left open after them; the member hears of the decision
last. Two objections registered at once: one is refused by the unique open key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from flask_casenote_privacy.errors import InvalidRequest
from flask_casenote_privacy.rights import objections
from flask_casenote_privacy.storage.tables import objections as objections_table
from flask_casenote_privacy.storage.tables import requests as requests_table
from tests.member_site import PROBE_EMAIL, Site
from tests.test_correction import cli, mails, user
from tests.test_officer import Desk

NEW_NAME = "김민지나"


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


def refused_correction(site: Site, desk: Desk) -> str:
    """A written correction of the name, refused, and objected to in writing."""
    req = desk.register(subject="41", kind="correct", scope="items", item="name").get_json()
    refused = desk.post(
        f"/privacy/officer/requests/{req['id']}/refuse", ground="correction_by_other_procedure", reason="다른 절차"
    )
    assert refused.status_code == 200, refused.get_data(as_text=True)
    objected = desk.post(f"/privacy/officer/requests/{req['id']}/objection", statement="부당합니다", channel="written")
    assert objected.status_code == 200, objected.get_data(as_text=True)
    return str(req["id"])


def objection_rows(site: Site, request_id: str) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        query = select(objections_table).where(objections_table.c.request_id == request_id)
        return [dict(r) for r in conn.execute(query).mappings()]


def request_status(site: Site, request_id: str) -> str:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return str(conn.execute(select(requests_table.c.status).where(requests_table.c.id == request_id)).scalar())


def test_upholding_an_objection_to_a_refused_correction_takes_the_new_value_or_changes_nothing(
    site: Site, smtp: Any
) -> None:
    desk = Desk(site)
    request_id = refused_correction(site, desk)
    decision = f"/privacy/officer/requests/{request_id}/objection/decision"
    page = desk.get(f"/privacy/officer/requests/{request_id}", json=False).get_data(as_text=True)
    form = page[page.index('id="decide-objection"') :]
    assert 'name="value.name"' in form[: form.index("</form>")]

    missing = desk.post(decision, decision="upheld", reason="이의가 타당합니다.")
    assert missing.status_code == 400 and "give the new value of name" in missing.get_json()["message"]
    bad = desk.post(decision, decision="upheld", reason="", **{"value.name": "x\x07"})
    assert bad.status_code == 400
    assert "reason:" in bad.get_json()["message"] and "printable characters" in bad.get_json()["message"]
    stray = desk.post(decision, decision="dismissed", reason="기각", **{"value.name": NEW_NAME})
    assert stray.status_code == 400 and "only upholding an objection" in stray.get_json()["message"]
    # Nothing changed: the objection is open, the request refused, the member told nothing new.
    assert [o["status"] for o in objection_rows(site, request_id)] == ["open"]
    assert request_status(site, request_id) == "refused" and user(site)[0] == "김민지"
    assert len(mails(site, smtp, 2)) == 2  # the refusal and the objection's receipt

    done = desk.post(decision, decision="upheld", reason="이의가 타당합니다.", **{"value.name": NEW_NAME})
    assert done.status_code == 200, done.get_data(as_text=True)
    finished = done.get_json()
    assert (finished["status"], finished["corrected_items"]) == ("completed", ["name"])
    assert finished["objections"][0]["status"] == "upheld"
    assert [o["open_key"] for o in objection_rows(site, request_id)] == [None]
    assert user(site) == (NEW_NAME, PROBE_EMAIL)
    sent = mails(site, smtp, 4)
    assert all(m["to"] == [PROBE_EMAIL] for m in sent)
    assert "정정" in sent[2]["subject"] and "이의제기 처리 결과" in sent[3]["subject"]  # the decision last


def test_the_shell_upholds_with_a_value_from_stdin_or_by_hand(site: Site) -> None:
    desk = Desk(site)
    request_id = refused_correction(site, desk)
    base = ("requests", "decide-objection", request_id, "--decision", "upheld", "--reason", "타당")
    missing = cli(site, *base)
    assert missing.exit_code == 1 and "give the new value of name" in missing.output
    both = cli(site, *base, "--by-hand", "--value", "name=x")
    assert both.exit_code == 1 and "not both" in both.output
    assert [o["status"] for o in objection_rows(site, request_id)] == ["open"]
    assert request_status(site, request_id) == "refused"

    done = cli(site, *base, "--value", "name=-", input=NEW_NAME)
    assert done.exit_code == 0, done.output
    assert user(site)[0] == NEW_NAME and request_status(site, request_id) == "completed"

    other = refused_correction(site, desk)
    by_hand = cli(site, "requests", "decide-objection", other, "--decision", "upheld", "--reason", "r", "--by-hand")
    assert by_hand.exit_code == 0, by_hand.output
    assert request_status(site, other) == "completed"


def test_a_rerun_carries_out_the_request_an_upheld_objection_left_open(site: Site, smtp: Any) -> None:
    desk = Desk(site)
    request_id = refused_correction(site, desk)
    # What a crash right after the decision's transaction leaves: upheld, and reopened.
    with site.app.app_context(), site.privacy.services.databases.main.begin() as conn:
        conn.execute(
            update(objections_table)
            .where(objections_table.c.request_id == request_id)
            .values(status="upheld", open_key=None, decision_reason="타당", decided_at=site.privacy.services.now())
        )
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == request_id)
            .values(status="registered", notify_to=PROBE_EMAIL)
        )
    base = ("requests", "decide-objection", request_id, "--reason", "타당")
    dismissed = cli(site, *base, "--decision", "dismissed")
    assert dismissed.exit_code == 1 and "can only be carried out" in dismissed.output
    rerun = cli(site, *base, "--decision", "upheld", "--value", f"name={NEW_NAME}")
    assert rerun.exit_code == 0, rerun.output
    assert request_status(site, request_id) == "completed" and user(site)[0] == NEW_NAME
    assert "이의제기 처리 결과" in mails(site, smtp, 4)[3]["subject"]
    again = cli(site, *base, "--decision", "upheld")
    assert again.exit_code == 1 and "no objection waiting" in again.output


def test_two_objections_registered_at_once_leave_one_open(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = Desk(site)
    req = desk.register(subject="41", kind="correct", scope="items", item="name").get_json()
    desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="correction_by_other_procedure", reason="r")
    # Both writers pass the check before either inserts: the race the unique key closes.
    barrier = threading.Barrier(2, timeout=10)
    checked = objections._open_objection

    def check_then_wait(conn: Any, request_id: str) -> Any:
        found = checked(conn, request_id)
        barrier.wait()
        return found

    monkeypatch.setattr(objections, "_open_objection", check_then_wait)
    outcomes: list[str] = []

    def object_once(n: int) -> None:
        with site.app.app_context():
            try:
                objections.object_to_request(site.privacy.services, req["id"], statement=f"이의 {n}", channel="written")
                outcomes.append("registered")
            except InvalidRequest as error:
                outcomes.append(str(error))

    threads = [threading.Thread(target=object_once, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == sorted(["registered", f"request {req['id']}: an objection is already open"])
    assert [o["status"] for o in objection_rows(site, req["id"])] == ["open"]
