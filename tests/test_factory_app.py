"""The second example host, examples/factory_app (Maru Notes), as its users meet it,
on SQLite, PostgreSQL and MariaDB: an app factory with blueprints, Flask-Login,
Flask-WTF forms under CSRFProtect, Flask-Migrate sharing its database with the
privacy tables, and its own standard-library log file.

Set up as a deployer does (`flask db upgrade`, `flask privacy db upgrade`), then the
member's story (sign up, consent banner, notes, export, partial and full withdrawal,
mail) and the officer's (written request, completion, refusal, purge years later,
the destruction ledger), with no 500 anywhere and no email in the host's log file."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from examples.factory_app import create_app
from examples.factory_app.extensions import db, privacy
from examples.factory_app.models import Note, Payment, User
from flask_casenote_privacy.storage import tables
from tests.conftest import LOG_PROBES
from tests.helpers import access_rows

MEMBER_EMAIL = LOG_PROBES["probe email"]  # the suite scans everything it captured for it
OTHER_EMAIL = "other.member@example.kr"
OFFICER_EMAIL = "privacy@marunotes.example"
PASSWORD = "correct horse battery staple"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "factory_app"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HANGUL = re.compile("[\uac00-\ud7a3]")


class Browser:
    """A test client that fails on any 500 and reads CSRF tokens from the pages."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def get(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.get(path, **kwargs)
        assert answer.status_code < 500, (path, answer.get_data(as_text=True)[-2000:])
        return answer

    def post(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.post(path, **kwargs)
        assert answer.status_code < 500, (path, answer.get_data(as_text=True)[-2000:])
        return answer

    def token(self, page: str) -> str:
        match = CSRF.search(self.get(page).get_data(as_text=True))
        assert match, f"no csrf_token on {page}"
        return match.group(1)

    def sign_up(self, name: str, email: str) -> Any:
        token = self.token("/signup")
        return self.post(
            "/signup", data={"csrf_token": token, "name": name, "email": email, "password": PASSWORD, "over_14": "y"}
        )

    def sign_in(self, email: str) -> Any:
        token = self.token("/signin")
        return self.post("/signin", data={"csrf_token": token, "email": email, "password": PASSWORD})


def restore_logging(before: list[logging.Handler], level: int) -> None:
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    for handler in before:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
def build(
    database_urls: tuple[URL, URL], tmp_path: Path, smtp: tuple[str, int, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """``build(name)``: a Maru Notes app on this backend, set up with the deployer's
    two commands; every app built is closed (and logging restored) afterwards."""
    main, archive = database_urls
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))  # not the example's own folder
    root = logging.getLogger()
    before, level = root.handlers[:], root.level
    built: list[Flask] = []

    def make(name: str = "app", **extra: Any) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "factory-app-test-secret-key",
                "SQLALCHEMY_DATABASE_URI": main.render_as_string(hide_password=False),
                "PRIVACY_DATABASE_URI": main.render_as_string(hide_password=False),  # shared, as in production
                "PRIVACY_ARCHIVE_DATABASE_URI": archive.render_as_string(hide_password=False),
                "PRIVACY_MAIL_SERVER": smtp[0],
                "PRIVACY_MAIL_PORT": smtp[1],
                "PRIVACY_SPOOL_DIR": str(tmp_path / f"spool-{name}"),
                "LOG_FILE": str(tmp_path / "marunotes.log"),
                **extra,
            }
        )
        built.append(app)
        runner = app.test_cli_runner()
        for command in (["db", "upgrade"], ["privacy", "db", "upgrade"]):
            result = runner.invoke(args=command)
            assert result.exit_code == 0, result.output
        return app

    yield make
    for app in built:
        with app.app_context():
            privacy.close()
            db.engine.dispose()
    restore_logging(before, level)


@pytest.fixture
def app(build: Any) -> Flask:
    return build()  # type: ignore[no-any-return]


def count(app: Flask, model: Any, user_id: int) -> int:
    column = model.id if model is User else model.user_id
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(column == user_id)) or 0)


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return int(found)


def mail_to(smtp: tuple[str, int, Any], app: Flask, address: str, n: int) -> list[dict[str, Any]]:
    with app.app_context():
        privacy.services.mailer.flush()
    messages = smtp[2].wait(n)
    return [m for m in messages if m["to"] == [address]]


def test_the_members_whole_story(app: Flask, smtp: tuple[str, int, Any], tmp_path: Path) -> None:
    member = Browser(app)

    # Sign up: the form is CSRF-protected (no token: 400 and nobody is created).
    refused = member.post("/signup", data={"name": "김민지", "email": MEMBER_EMAIL, "password": PASSWORD})
    assert refused.status_code == 400
    assert member.sign_up("김민지", MEMBER_EMAIL).status_code == 302
    uid = user_id(app, MEMBER_EMAIL)

    # The consent banner, answered "accept all".
    home = member.get("/").get_data(as_text=True)
    assert 'id="consent-banner"' in home
    token = CSRF.search(home).group(1)  # type: ignore[union-attr]
    answer = member.post(
        "/privacy/consent",
        data={
            "csrf_token": token,
            "action": "save",
            "purpose": ["service_improvement", "statistics_advertising"],
            "next": "/",
        },
    )
    assert (answer.status_code, answer.headers["Location"]) == (303, "/")
    assert 'id="consent-banner"' not in member.get("/").get_data(as_text=True)

    # A note and a Pro plan payment.
    token = member.token("/")
    assert member.post("/notes", data={"csrf_token": token, "title": "장보기", "body": "우유, 달걀"}).status_code == 302
    assert member.post("/upgrade", data={"csrf_token": member.token("/account")}).status_code == 302
    assert count(app, Note, uid) == count(app, Payment, uid) == 1

    # Capture wrote the member's requests, with the optional purposes they granted.
    rows = [r for r in access_rows(app) if r["subject"] == str(uid)]
    assert {"/", "/notes", "/account"} <= {r["path"] for r in rows}
    [note_post] = [r for r in rows if r["path"] == "/notes"]
    assert "service_improvement" in note_post["purposes"] and note_post["user_agent"]  # granted, so kept
    [signup_post] = [
        r for r in access_rows(app) if r["path"] == "/signup" and r["method"] == "POST" and r["status"] == 302
    ]
    assert signup_post["user_agent"] is None  # before the banner was answered: not collected

    # Export: the declared columns, never the password hash.
    export = member.get("/privacy/export")
    assert export.status_code == 200
    sources = export.get_json()["sources"]
    [account] = sources["users"]["records"]
    assert set(account) == {"id", "name", "email", "created_at"}
    assert (account["id"], account["email"]) == (uid, MEMBER_EMAIL)
    [note] = sources["notes"]["records"]
    assert (note["title"], note["body"]) == ("장보기", "우유, 달걀")
    [payment] = sources["payments"]["records"]
    assert (payment["plan"], payment["amount"]) == ("pro", 4900)
    with app.app_context():
        password_hash = db.session.get(User, uid).password_hash  # type: ignore[union-attr]
    assert "password" not in export.get_data(as_text=True) and password_hash not in export.get_data(as_text=True)

    # Partial withdrawal: one purpose; still a member, still signed in.
    token = member.token("/account")
    answer = member.post("/privacy/withdraw", data={"csrf_token": token, "purpose": "statistics_advertising"})
    assert answer.status_code == 303
    page = member.get("/account").get_data(as_text=True)
    assert re.search(r"통계 및 광고 / Statistics and advertising: <strong>동의 안 함", page)
    assert re.search(r"신규 서비스 발굴 및 기존 서비스 개선 / [^:]+: <strong>동의 /", page)
    assert count(app, User, uid) == 1

    # Leaving: the host's rows are erased (the payment archived), the member signed out.
    answer = member.post("/privacy/withdraw", data={"csrf_token": member.token("/account"), "scope": "all"})
    assert answer.status_code == 303
    status = member.get(answer.headers["Location"])
    assert 'data-status="completed"' in status.get_data(as_text=True)
    assert [count(app, m, uid) for m in (User, Note, Payment)] == [0, 0, 0]
    assert "회원가입 / Sign up" in member.get("/").get_data(as_text=True)  # signed out
    assert member.get("/account").status_code == 302  # to the sign-in page

    # The member was told by mail, for each withdrawal: received, then done.
    messages = mail_to(smtp, app, MEMBER_EMAIL, 4)
    assert len(messages) == 4
    assert all(m["subject"].startswith("[주식회사 마루노트]") for m in messages)
    assert "파기했습니다" in messages[-1]["body"] and "destroyed" in messages[-1]["body"]
    assert "마루노트" in messages[-1]["body"] or "Maru Notes" in messages[-1]["body"]

    # The host's own log file has the sign-up and the requests, and no address.
    log = (tmp_path / "marunotes.log").read_text(encoding="utf-8")
    assert "new member [email] signed up" in log
    assert "http.access" in log
    assert MEMBER_EMAIL not in log


def test_the_officers_whole_story(app: Flask, smtp: tuple[str, int, Any]) -> None:
    member, other, officer = Browser(app), Browser(app), Browser(app)
    member.sign_up("김민지", MEMBER_EMAIL)
    other.sign_up("이서준", OTHER_EMAIL)
    member.post("/upgrade", data={"csrf_token": member.token("/account")})
    uid, other_id = user_id(app, MEMBER_EMAIL), user_id(app, OTHER_EMAIL)

    # The officer is a member the app's own command promotes.
    officer.sign_up("한지우", OFFICER_EMAIL)
    assert officer.get("/privacy/officer/").status_code == 403
    result = app.test_cli_runner().invoke(args=["make-officer", OFFICER_EMAIL])
    assert result.exit_code == 0, result.output
    assert officer.sign_in(OFFICER_EMAIL).status_code == 302

    # The request list, in Korean and in English.
    assert "요청 관리" in officer.get("/privacy/officer/").get_data(as_text=True)
    english = officer.get("/privacy/officer/?lang=en").get_data(as_text=True)
    assert "Privacy officer" in english or "Requests" in english
    body = re.sub(r"<[^>]+>", " ", english.split('class="privacy-page"', 1)[1].split("<footer>", 1)[0])
    assert not HANGUL.findall(body), HANGUL.findall(body)

    # A written deletion request for the member, completed.
    token = officer.token("/privacy/officer/")
    registered = officer.post(
        "/privacy/officer/requests",
        data={"csrf_token": token, "subject": str(uid), "kind": "delete", "channel": "written", "scope": "all"},
    )
    assert registered.status_code == 303
    request_page = registered.headers["Location"]
    token = officer.token(request_page)
    done = officer.post(request_page + "/complete", data={"csrf_token": token})
    assert done.status_code == 303
    assert 'data-status="completed"' in officer.get(request_page).get_data(as_text=True)
    assert [count(app, m, uid) for m in (User, Note, Payment)] == [0, 0, 0]
    assert "회원가입 / Sign up" in member.get("/").get_data(as_text=True)  # their browser is signed out
    assert "한지우" in officer.get("/").get_data(as_text=True)  # the officer is not

    # A written stop request of the other member, refused with a ground of the policy.
    registered = officer.post(
        "/privacy/officer/requests",
        data={
            "csrf_token": token,
            "subject": str(other_id),
            "kind": "stop",
            "channel": "written",
            "purpose": "user_protection",
        },
    )
    assert registered.status_code == 303
    refuse = officer.post(
        registered.headers["Location"] + "/refuse",
        data={"csrf_token": token, "ground": "legal_obligation", "reason": "분쟁 처리 중 / a dispute is open"},
    )
    assert refuse.status_code == 303
    assert 'data-status="refused"' in officer.get(registered.headers["Location"]).get_data(as_text=True)
    assert count(app, User, other_id) == 1

    # Each member was told the decision by mail.
    [done_mail] = mail_to(smtp, app, MEMBER_EMAIL, 2)
    [refused_mail] = mail_to(smtp, app, OTHER_EMAIL, 2)
    assert "삭제 처리 완료" in done_mail["subject"] and "deletion is done" in done_mail["subject"]
    assert "거절" in refused_mail["subject"]
    assert "제37조 제2항 제1호" in refused_mail["body"] and "Art. 37(2)1" in refused_mail["body"]

    # Years later the purge destroys what expired, and the ledger page shows it.
    result = app.test_cli_runner().invoke(args=["privacy", "purge", "--now", "2033-01-01T00:00:00"])
    assert result.exit_code == 0, result.output
    ledger = officer.get("/privacy/officer/destructions?lang=en").get_data(as_text=True)
    assert "Destruction ledger" in ledger
    assert "payment_record" in ledger and "access_log" in ledger
    assert "파기 기록" in officer.get("/privacy/officer/destructions").get_data(as_text=True)


def test_flask_db_migrate_proposes_nothing_on_the_shared_database(app: Flask, tmp_path: Path) -> None:
    # The committed migrations, copied so that a proposal would be written here.
    folder = tmp_path / "migrations"
    shutil.copytree(EXAMPLE / "migrations", folder, ignore=shutil.ignore_patterns("__pycache__"))
    with app.app_context():
        names = set(db.inspect(db.engine).get_table_names())
    assert {"users", "notes", "payments", *tables.metadata.tables} <= names  # one database for both

    result = app.test_cli_runner().invoke(args=["db", "migrate", "-d", str(folder), "-m", "nothing"])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (folder / "versions").glob("*.py")) == ["0001_users_notes_and_payments.py"]


def test_the_factory_builds_two_working_apps_in_one_process(build: Any) -> None:
    # As the host's own tests do: create_app() again with the same extension objects.
    first, second = build("first"), build("second")
    for n, app in enumerate((first, second)):
        browser = Browser(app)
        email = f"member{n}@example.kr"
        assert browser.sign_up(f"회원{n}", email).status_code == 302
        uid = user_id(app, email)
        answer = browser.post("/privacy/withdraw", data={"csrf_token": browser.token("/account"), "scope": "all"})
        assert answer.status_code == 303
        assert count(app, User, uid) == 0
        assert "회원가입 / Sign up" in browser.get("/").get_data(as_text=True)


def test_the_policy_pages_are_maru_notes_in_the_hosts_layout(app: Flask) -> None:
    browser = Browser(app)
    page = browser.get("/privacy/policy").get_data(as_text=True)
    assert "주식회사 마루노트" in page and "한결페이" in page
    assert "케이스노트" not in page and "Casenote" not in page
    assert "마루노트 Maru Notes</a>" in page  # the app's navigation: privacy/base.html extends its layout
    assert 'class="privacy-page"' in page
    english = browser.get("/privacy/policy?lang=en").get_data(as_text=True)
    assert "Maru Notes Inc." in english
