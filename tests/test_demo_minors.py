"""The Casenote demo keeps what its policy says (개인정보 보호법 제22조의2, 제21조 제1항):
sign-up asks "만 14세 이상입니다" and refuses whoever does not confirm it (the policy
collects no birth date and takes no legal representative's consent), and searches,
declared as usage records kept 3 months, are destroyed 3 months after each search
while the member stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from examples.casenote_demo import create_app
from examples.casenote_demo.models import Search, User, db


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "PRIVACY_CSRF": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "PRIVACY_DATABASE_URI": f"sqlite:///{tmp_path / 'privacy.sqlite'}",
            "PRIVACY_ARCHIVE_DATABASE_URI": f"sqlite:///{tmp_path / 'archive.sqlite'}",
            "PRIVACY_SPOOL_DIR": str(tmp_path / "spool"),
            "PRIVACY_CAPTURE_SYNC": True,
        }
    )
    yield app
    app.extensions["privacy"].close()


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_signup_refuses_whoever_does_not_confirm_being_14_and_accepts_who_does(demo: Flask) -> None:
    client = demo.test_client()
    form = client.get("/signup").get_data(as_text=True)
    assert 'name="age_14"' in form and "만 14세 이상입니다." in form
    assert 'name="birth' not in form  # the policy collects no birth date

    refused = client.post("/signup", data={"name": "김어린", "email": "child@example.kr"})
    assert refused.status_code == 400
    assert "만 14세 미만은 가입할 수 없습니다." in refused.get_data(as_text=True)
    english = client.post("/signup?lang=en", data={"name": "Kim", "email": "child@example.kr", "age_14": "no"})
    assert english.status_code == 400 and "You must be 14 or older to join." in english.get_data(as_text=True)
    assert count(demo, User) == 0  # nothing kept of the refused sign-ups

    joined = client.post("/signup", data={"name": "김민지", "email": "minji@example.kr", "age_14": "yes"})
    assert joined.status_code == 302
    assert count(demo, User) == 1


def test_searches_are_destroyed_three_months_after_each_search_while_the_member_stays(demo: Flask) -> None:
    client = demo.test_client()
    client.post("/signup", data={"name": "김민지", "email": "minji@example.kr", "age_14": "yes"})
    searched = datetime.now(timezone.utc)
    client.get("/search?q=임대차")
    assert count(demo, Search) == 1
    runner = demo.test_cli_runner()

    def purge(now: datetime) -> dict[str, Any]:
        result = runner.invoke(args=["privacy", "purge", "--now", now.isoformat(), "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    purge(searched + timedelta(days=85))  # under three months: kept
    assert count(demo, Search) == 1
    report = purge(searched + timedelta(days=93))  # past three calendar months, whatever the month
    assert count(demo, Search) == 0 and count(demo, User) == 1  # the member stays
    line = next(c for c in report["classes"] if c["retention"] == "access_log")
    assert line["destroyed"] >= 1 and "host:searches" in line["targets"]
