"""`flask privacy requests ...` and `flask privacy export`, on SQLite, PostgreSQL and
MariaDB: the officer's intake and decisions from the shell, the same rules as the
web (bad input: non-zero exit, every problem named, nothing registered), and an
operator access record for every command that touches a member's data."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog
from flask import Flask
from sqlalchemy import select

from flask_casenote_privacy import ConfigurationError
from flask_casenote_privacy.storage.tables import operator_access
from flask_casenote_privacy.storage.tables import requests as requests_table
from tests.conftest import MEMBER_SITE_START
from tests.member_site import PROBE_EMAIL, Payment, SearchHistory, Site, User

START = MEMBER_SITE_START


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


class Run:
    def __init__(self, result: Any, logs: list[Any]) -> None:
        self.exit_code: int = result.exit_code
        self.stdout: str = result.stdout
        self.stderr: str = result.stderr
        self.exception = result.exception
        self.logs = logs

    def json(self) -> Any:
        assert self.exit_code == 0, (self.exit_code, self.stderr, self.exception)
        return json.loads(self.stdout)


def flask(site: Site, *args: str) -> Run:
    """Run ``flask <args>``; log events are captured, so stdout is the command's own."""
    with structlog.testing.capture_logs() as logs:
        result = site.app.test_cli_runner().invoke(args=list(args))
    return Run(result, logs)


def register(site: Site, *args: str) -> Run:
    return flask(site, "privacy", "requests", "register", *args)


def requests_in_db(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(requests_table)).mappings()]


def access_records(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(operator_access).order_by(operator_access.c.id)).mappings()]


def member_data(site: Site) -> tuple[int, int, int]:
    return site.count(User, 41), site.count(Payment, 41), site.count(SearchHistory, 41)


# -- register ---------------------------------------------------------------------------------
def test_registering_a_written_withdrawal_executes_it_at_once(site: Site, smtp: Any, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="flask_casenote_privacy.mail")
    _, _, outbox = smtp
    run = register(site, "--subject", "41", "--kind", "withdraw", "--channel", "written", "--scope", "all")
    req = run.json()
    assert (req["subject"], req["kind"], req["channel"], req["status"]) == ("41", "withdraw", "written", "completed")
    assert req["registered_by"].startswith("cli")
    assert {r["retention"]: r["count"] for r in req["retained"]}["payment_record"] == 1
    assert member_data(site) == (0, 0, 0)
    assert site.count(User, 42) == 1
    messages = outbox.wait(2)
    assert [m["to"] for m in messages] == [[PROBE_EMAIL], [PROBE_EMAIL]]
    assert "동의철회 접수" in messages[0]["subject"] and "처리 완료" in messages[1]["subject"]
    # The mail log tells what was sent, never to whom; stdout holds only the JSON.
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    mail_logs = [r.getMessage() for r in caplog.records if r.name == "flask_casenote_privacy.mail"]
    assert mail_logs == [
        "privacy mail sent: kind=withdrawal_registered",
        "privacy mail sent: kind=withdrawal_completed",
    ]
    assert PROBE_EMAIL not in repr(run.logs) + "".join(mail_logs)


def test_registering_a_stop_request_by_email_sets_its_deadline_and_erases_nothing(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    args = ["--subject", "41", "--kind", "stop", "--channel", "email", "--purpose", "statistics_advertising"]
    req = register(site, *args).json()
    assert (req["status"], req["channel"], req["purposes"]) == ("registered", "email", ["statistics_advertising"])
    assert req["received_at"] == "2026-12-10T10:00:00+09:00"
    assert req["due_at"] == "2026-12-20T10:00:00+09:00"
    assert member_data(site) == (1, 1, 1)
    assert outbox.messages == []


def test_the_request_deadline_is_configurable(make_site: Callable[..., Site]) -> None:
    site = make_site(PRIVACY_REQUEST_DEADLINE="P15D")
    req = register(site, "--subject", "41", "--kind", "delete", "--channel", "written").json()
    assert req["due_at"] == "2026-12-25T10:00:00+09:00"
    withdrawal = register(site, "--subject", "42", "--kind", "withdraw", "--channel", "written", "--scope", "all")
    assert withdrawal.json()["due_at"] == "2026-12-10T10:00:00+09:00"  # a withdrawal executes at once


@pytest.mark.parametrize("value", ["15 days", "P", "-P10D", 10])
def test_a_bad_request_deadline_fails_at_init_naming_the_key(make_app: Callable[..., Flask], value: Any) -> None:
    with pytest.raises(ConfigurationError, match="PRIVACY_REQUEST_DEADLINE") as failure:
        make_app(PRIVACY_REQUEST_DEADLINE=value)
    assert failure.value.key == "PRIVACY_REQUEST_DEADLINE"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--kind", "forget", "--channel", "written", "--scope", "all"], 2, "Invalid value for '--kind'"),
        (["--kind", "withdraw", "--channel", "phone", "--scope", "all"], 2, "Invalid value for '--channel'"),
        (["--kind", "withdraw", "--channel", "written"], 1, "give 'all'"),
        (["--kind", "withdraw", "--channel", "written", "--purpose", "member_management"], 1, "not consent"),
        (["--kind", "stop", "--channel", "written", "--scope", "all", "--purpose", "security"], 1, "not both"),
        (["--kind", "stop", "--channel", "written", "--purpose", "nope"], 1, "unknown purpose 'nope'"),
        (["--kind", "access", "--channel", "written", "--purpose", "security"], 1, "give no purposes"),
    ],
)
def test_bad_register_input_fails_with_a_message_and_registers_nothing(
    site: Site, smtp: Any, args: list[str], code: int, message: str
) -> None:
    _, _, outbox = smtp
    run = register(site, "--subject", "41", *args)
    assert run.exit_code == code
    assert message in run.stderr
    assert run.stdout == ""
    assert requests_in_db(site) == []
    assert access_records(site) == []
    assert member_data(site) == (1, 1, 1)
    assert outbox.messages == []


def test_register_without_a_subject_is_a_usage_error(site: Site) -> None:
    run = register(site, "--kind", "withdraw", "--channel", "written", "--scope", "all")
    assert run.exit_code == 2
    assert "--subject" in run.stderr
    assert requests_in_db(site) == []


# -- list ------------------------------------------------------------------------------------
def test_list_shows_overdue_requests_first(site: Site, clock: Any) -> None:
    start = datetime.fromisoformat(START)
    stop = register(site, "--subject", "41", "--kind", "stop", "--channel", "written", "--scope", "all").json()
    clock.set(start + timedelta(days=1))
    withdrawal = register(site, "--subject", "42", "--kind", "withdraw", "--channel", "written", "--scope", "all")
    clock.set(start + timedelta(days=5))
    access = register(site, "--subject", "41", "--kind", "access", "--channel", "email").json()
    clock.set(start + timedelta(days=11))  # past the stop request's due date only

    rows = flask(site, "privacy", "requests", "list", "--format", "json").json()
    assert [r["id"] for r in rows] == [stop["id"], access["id"], withdrawal.json()["id"]]
    for row in rows:
        assert {"id", "subject", "kind", "status", "due_at"} <= row.keys()
    assert [(r["subject"], r["kind"], r["status"], r["overdue"]) for r in rows] == [
        ("41", "stop", "registered", True),
        ("41", "access", "registered", False),
        ("42", "withdraw", "completed", False),
    ]
    assert rows[0]["due_at"] == "2026-12-20T10:00:00+09:00"

    text = flask(site, "privacy", "requests", "list")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"OVERDUE {stop['id']}")
    assert [line.startswith("OVERDUE") for line in lines] == [True, False, False]


def test_list_of_no_requests(site: Site) -> None:
    assert flask(site, "privacy", "requests", "list").stdout == "no requests\n"
    assert flask(site, "privacy", "requests", "list", "--format", "json").json() == []


# -- decisions --------------------------------------------------------------------------------
def test_refusing_on_a_legal_obligation_erases_nothing_and_tells_the_member(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    args = ("--subject", "41", "--kind", "stop", "--channel", "written", "--scope", "all")
    request_id = register(site, *args).json()["id"]
    reason = "전자상거래법에 따라 결제 기록을 5년간 보관해야 합니다."
    run = flask(site, "privacy", "requests", "refuse", request_id, "--ground", "legal_obligation", "--reason", reason)
    req = run.json()
    assert req["status"] == "refused"
    assert req["refusal"] == {"ground": "legal_obligation", "reason": reason}
    assert member_data(site) == (1, 1, 1)
    (mail,) = outbox.wait(1)
    assert mail["to"] == [PROBE_EMAIL]
    assert "처리정지 요구 거절" in mail["subject"] and "processing stop request was refused" in mail["subject"]
    assert "법령상 의무를 준수하기 위하여 불가피한 경우" in mail["body"]
    assert reason in mail["body"] and "contact@casenote.kr" in mail["body"] and "이의" in mail["body"]
    assert "처리정지" in mail["body"] and "processing stop" in mail["body"]  # the kind of request refused


def test_a_deletion_cannot_be_refused_on_a_processing_stop_ground(site: Site, smtp: Any) -> None:
    # Before issue 13 a deletion was refused wholesale on any of §37②'s grounds.
    _, _, outbox = smtp
    request_id = register(site, "--subject", "41", "--kind", "delete", "--channel", "written").json()["id"]
    before = requests_in_db(site)
    run = flask(site, "privacy", "requests", "refuse", request_id, "--ground", "legal_obligation", "--reason", "x")
    assert run.exit_code == 1
    assert "a delete request is not refused" in run.stderr and "kept_by_law" in run.stderr
    assert requests_in_db(site) == before and member_data(site) == (1, 1, 1)
    assert outbox.messages == []


def test_refusing_on_an_unknown_ground_lists_every_problem_and_changes_nothing(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    request_id = register(site, "--subject", "41", "--kind", "stop", "--channel", "written", "--scope", "all").json()[
        "id"
    ]
    before = requests_in_db(site)
    run = flask(site, "privacy", "requests", "refuse", request_id, "--ground", "too_busy", "--reason", " ")
    assert run.exit_code == 1
    assert "'too_busy'" in run.stderr
    for ground in ("legal_obligation", "harm_to_others", "contract_impossible"):
        assert ground in run.stderr
    assert "reason" in run.stderr
    assert requests_in_db(site) == before and before[0]["status"] == "registered"
    assert outbox.messages == []

    missing = flask(site, "privacy", "requests", "refuse", request_id, "--ground", "legal_obligation")
    assert missing.exit_code == 2 and "--reason" in missing.stderr


def test_refusing_a_withdrawal_fails(site: Site) -> None:
    withdrawal = register(site, "--subject", "42", "--kind", "withdraw", "--channel", "email", "--scope", "all")
    request_id = withdrawal.json()["id"]
    run = flask(site, "privacy", "requests", "refuse", request_id, "--ground", "legal_obligation", "--reason", "x")
    assert run.exit_code == 1 and "already completed" in run.stderr


def test_completing_a_stop_request_erases_only_what_that_purpose_alone_used(site: Site) -> None:
    args = ["--subject", "41", "--kind", "stop", "--channel", "written", "--purpose", "statistics_advertising"]
    request_id = register(site, *args).json()["id"]
    req = flask(site, "privacy", "requests", "complete", request_id).json()
    assert req["status"] == "completed"
    assert req["erased_items"] == ["cookie", "device_info"]
    assert member_data(site) == (1, 1, 1)  # membership and records stay
    again = flask(site, "privacy", "requests", "complete", request_id)
    assert again.exit_code == 1 and "already completed" in again.stderr


def test_completing_an_access_request_tells_the_member(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    request_id = register(site, "--subject", "41", "--kind", "access", "--channel", "written").json()["id"]
    assert flask(site, "privacy", "requests", "complete", request_id).json()["status"] == "completed"
    (mail,) = outbox.wait(1)
    assert mail["to"] == [PROBE_EMAIL] and "열람" in mail["subject"]
    assert "/privacy/export" in mail["body"]
    assert member_data(site) == (1, 1, 1)


def test_unknown_request_ids_fail(site: Site) -> None:
    for args in (["complete", "nope"], ["refuse", "nope", "--ground", "legal_obligation", "--reason", "x"]):
        run = flask(site, "privacy", "requests", *args)
        assert run.exit_code == 1, args
        assert "no request 'nope'" in run.stderr
        assert run.stdout == ""
    assert access_records(site) == []


# -- export and the operator access records ----------------------------------------------------
def test_export_prints_the_subject_data_as_json(site: Site) -> None:
    site.app.test_client().get("/search", headers={"X-Test-Subject": "41"})
    data = flask(site, "privacy", "export", "41", "--reason", "access request").json()
    assert data["subject"] == "41"
    assert data["sources"]["users"]["records"][0]["email"] == PROBE_EMAIL
    assert data["sources"]["payments"]["records"][0]["amount"] == 19900
    assert "/search" in {a["path"] for a in data["access_log"]}
    assert {"consent_history", "provisions", "archived", "requests"} <= data.keys()


def test_every_command_touching_member_data_writes_an_operator_access_record(site: Site) -> None:
    as_kang = ["--officer", "officer.kang"]
    stop = register(site, "--subject", "41", "--kind", "stop", "--channel", "written", "--scope", "all", *as_kang)
    stop_id = stop.json()["id"]
    access_id = register(site, "--subject", "42", "--kind", "access", "--channel", "email", *as_kang).json()["id"]
    flask(site, "privacy", "requests", "refuse", stop_id, "--ground", "contract_impossible", "--reason", "x", *as_kang)
    flask(site, "privacy", "requests", "complete", access_id, *as_kang)
    flask(site, "privacy", "requests", "list", "--format", "json", *as_kang)
    flask(site, "privacy", "export", "41", "--reason", "r", *as_kang)
    flask(site, "privacy", "export", "42", "--reason", "r")  # without --officer: the OS user

    rows = access_records(site)
    assert [(r["subject"], r["task"]) for r in rows] == [
        ("41", f"register stop request {stop_id} (cli)"),
        ("42", f"register access request {access_id} (cli)"),
        ("41", f"refuse request {stop_id} (cli)"),
        ("42", f"complete request {access_id} (cli)"),
        (None, "list requests (cli)"),
        ("41", "export subject data (cli)"),
        ("42", "export subject data (cli)"),
    ]
    assert {r["operator"] for r in rows[:-1]} == {"officer.kang"}
    assert rows[-1]["operator"].startswith("cli")
    tz = site.privacy.policy.tz
    for row in rows:
        assert row["accessed_at"].astimezone(tz).isoformat() == "2026-12-10T10:00:00+09:00"
        assert row["expires_at"].astimezone(tz).isoformat() == "2027-12-10T10:00:00+09:00"
