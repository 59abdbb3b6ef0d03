"""A real Flask-SQLAlchemy + Flask-Login host (tests/login_site.py): leaving answers
200 and signs the member out; a failing loader never changes a response."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_casenote_privacy import integrations
from flask_casenote_privacy.signals import member_withdrawn
from tests.helpers import access_rows
from tests.login_site import build_login_site, host_rows

OFFICER = {"Accept": "application/json"}


@pytest.fixture
def site(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return build_login_site(make_app, tmp_path)


def test_withdrawing_everything_with_the_documented_loader_answers_200_and_erases(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    # The loader the quick start documents, hand-written: the erasure commits the
    # host's session and detaches current_user; nothing may ask for its id again.
    app = build_login_site(make_app, tmp_path, integration=False)
    client = app.test_client()
    client.get("/login/41")

    answer = client.post("/privacy/withdraw", json={"scope": "all"})

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "completed"
    assert host_rows(app, 41) == 0
    (event,) = [r for r in access_rows(app) if r["path"] == "/privacy/withdraw"]
    assert (event["subject"], event["status"]) == ("41", 200)


def test_use_flask_login_signs_the_member_out_once_they_have_left(site: Flask) -> None:
    client = site.test_client()
    client.get("/login/41")
    assert client.get("/whoami").get_data(as_text=True) == "41"
    assert client.get_cookie("remember_token") is not None

    answer = client.post("/privacy/withdraw", data={"scope": "all"})  # the "leave" form

    assert answer.status_code == 303
    assert host_rows(site, 41) == 0
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"
    assert client.get_cookie("remember_token") is None  # "remember me" cannot sign them in again
    status = client.get(answer.headers["Location"])  # this browser still sees the request it made
    assert status.status_code == 200
    assert 'data-status="completed"' in status.get_data(as_text=True)


def test_the_emailed_link_signs_out_a_browser_remembered_as_the_member(site: Flask) -> None:
    # Only the "remember me" cookie is left (the session cookie has expired): nothing
    # has read current_user in the request that confirms the link.
    client = site.test_client()
    client.get("/login/41")
    client.delete_cookie("session")
    with site.app_context():
        token = site.extensions["privacy"].services.withdraw_tokens.make("41")

    answer = client.post(f"/privacy/withdraw/confirm/{token}", headers={"Accept": "application/json"})

    assert answer.get_json()["status"] == "completed"
    assert client.get_cookie("remember_token") is None  # it cannot sign in whoever is given id 41 next


def test_a_partial_withdrawal_keeps_the_member_signed_in(site: Flask) -> None:
    client = site.test_client()
    client.get("/login/41")

    answer = client.post("/privacy/withdraw", json={"purposes": ["service_improvement"]})

    assert answer.status_code == 200
    assert client.get("/whoami").get_data(as_text=True) == "41"


def test_member_withdrawn_is_sent_with_the_app_the_host_id_and_the_request_id(site: Flask) -> None:
    received: list[tuple[Any, dict[str, Any]]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append((sender, kwargs))

    client = site.test_client()
    client.get("/login/41")
    with member_withdrawn.connected_to(receiver, sender=site):
        client.post("/privacy/withdraw", json={"purposes": ["service_improvement"]})
        assert received == []  # a partial withdrawal: still a member
        answer = client.post("/privacy/withdraw", json={"scope": "all"})

    assert received == [(site, {"subject": "41", "identity": "41", "request_id": answer.get_json()["request_id"]})]


def test_the_officer_completing_a_deletion_stays_signed_in(site: Flask) -> None:
    member, officer = site.test_client(), site.test_client()
    member.get("/login/41")
    officer.get("/login/7")
    req = officer.post(
        "/privacy/officer/requests", json={"subject": "41", "kind": "delete", "channel": "written"}, headers=OFFICER
    ).get_json()

    done = officer.post(f"/privacy/officer/requests/{req['id']}/complete", headers=OFFICER)

    assert done.status_code == 200
    assert done.get_json()["status"] == "completed"
    assert host_rows(site, 41) == 0
    assert officer.get("/whoami").get_data(as_text=True) == "7"
    # The member's own browser: Flask-Login finds no user behind its session any more.
    assert member.get("/whoami").get_data(as_text=True) == "anonymous"


def test_a_receiver_that_raises_is_logged_and_the_member_still_gets_200(site: Flask, caplog: Any) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"cannot reach the CRM about {kwargs['subject']}")

    client = site.test_client()
    client.get("/login/41")
    with member_withdrawn.connected_to(broken, sender=site):
        answer = client.post("/privacy/withdraw", json={"scope": "all"})

    assert answer.status_code == 200
    assert host_rows(site, 41) == 0
    (record,) = [r for r in caplog.records if r.name == "flask_casenote_privacy.signals"]
    assert record.levelno == logging.ERROR
    assert "RuntimeError" in record.getMessage()
    assert "CRM" not in record.getMessage()  # the message may quote personal data: never logged
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"  # the other receivers still ran


def test_a_subject_loader_that_raises_after_the_request_changes_no_response(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: Any
) -> None:
    app = build_login_site(make_app, tmp_path, integration=False)
    privacy = app.extensions["privacy"]

    @privacy.subject_loader
    def broken() -> str:
        raise RuntimeError("the session store is down for probe.member@example.kr")

    answer = app.test_client().get("/whoami")

    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "anonymous")
    (record,) = [r for r in caplog.records if r.name == "flask_casenote_privacy.capture"]
    assert record.levelno == logging.ERROR
    assert "RuntimeError" in record.getMessage()
    assert "probe.member" not in record.getMessage()
    (event,) = access_rows(app)  # still captured: without a subject, with no consent
    assert (event["path"], event["status"], event["subject"]) == ("/whoami", 200, None)


def test_any_failure_of_capture_after_the_request_changes_no_response(site: Flask, caplog: Any) -> None:
    privacy = site.extensions["privacy"]
    with site.app_context():
        capture = privacy._state().capture

    def broken_submit(row: dict[str, Any]) -> None:
        raise OSError("disk full")

    capture.writer.submit = broken_submit  # the writer is ours: a bug there must not fail the host
    answer = site.test_client().get("/whoami")

    assert answer.status_code == 200
    assert any("OSError" in r.getMessage() for r in caplog.records if r.name == "flask_casenote_privacy.capture")


def test_the_subject_loader_is_asked_once_per_request(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = build_login_site(make_app, tmp_path, integration=False)
    privacy = app.extensions["privacy"]
    calls: list[int] = []

    @privacy.subject_loader
    def counted() -> str:
        calls.append(1)
        return "41"

    @app.get("/twice")
    def twice() -> str:
        return f"{privacy.current_subject()} {privacy.current_subject()}"

    client = app.test_client()
    with app.app_context():  # one app context for several requests: still once per request
        assert client.get("/twice").get_data(as_text=True) == "41 41"
        assert client.get("/twice").get_data(as_text=True) == "41 41"
    assert len(calls) == 2


def test_use_flask_login_without_flask_login_installed_says_what_to_install(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    privacy = make_app(upgrade=False).extensions["privacy"]
    monkeypatch.setitem(sys.modules, "flask_login", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "flask_casenote_privacy.integrations.flask_login", raising=False)
    monkeypatch.delattr(integrations, "flask_login", raising=False)

    with pytest.raises(ImportError, match="pip install flask-login"):
        privacy.use_flask_login()


def test_use_flask_login_on_an_app_without_a_login_manager_says_so(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    app.extensions["privacy"].use_flask_login()

    with app.test_request_context(), pytest.raises(RuntimeError, match="no Flask-Login LoginManager"):
        app.extensions["privacy"].current_subject()


def test_a_host_without_flask_login_signs_out_through_member_withdrawn_as_the_quick_start_shows(
    make_app: Callable[..., Flask],
) -> None:
    from flask import has_request_context, session

    app = make_app(PRIVACY_CSRF=False)
    privacy = app.extensions["privacy"]

    @privacy.subject_loader
    def current_subject() -> str | None:
        uid = session.get("uid")
        return None if uid is None else str(uid)

    def sign_out(app: Flask, subject: str, **extra: Any) -> None:  # the quick start's receiver
        if has_request_context() and session.get("uid") is not None and str(session["uid"]) == subject:
            session.pop("uid")

    @app.get("/signin/<int:uid>")
    def signin(uid: int) -> str:
        session["uid"] = uid
        return "signed in"

    @app.get("/me")
    def me() -> str:
        return str(privacy.current_subject())

    client = app.test_client()
    client.get("/signin/41")
    with member_withdrawn.connected_to(sign_out, sender=app):
        assert client.post("/privacy/withdraw", json={"scope": "all"}).status_code == 200
    assert client.get("/me").get_data(as_text=True) == "None"
