"""The officer's pages in English, on SQLite, PostgreSQL and MariaDB: ``?lang=en`` on
the request list (with its undelivered-notices table), a request and the
destruction ledger gives English words only, and links and forms keep the
language; without it they stay Korean."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.member_site import Site

OFFICER = {"X-Test-Officer": "officer.kang"}
JSON = {"Accept": "application/json"}
HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def desk(make_site: Callable[..., Site]) -> tuple[Site, Any, dict[str, str]]:
    """A site whose SMTP server is down (its notices stay undelivered), with a stop
    request of member 42 waiting and member 41's withdrawal done (a payment kept)."""
    site = make_site(PRIVACY_MAIL_SERVER="127.0.0.1", PRIVACY_MAIL_PORT=free_port())
    client = site.app.test_client()
    token = client.get("/privacy/consent", headers=JSON).get_json()["csrf_token"]
    register = "/privacy/officer/requests?lang=en"
    stop = client.post(
        register,
        data={"subject": "42", "kind": "stop", "channel": "written", "scope": "", "purpose": "statistics_advertising"},
        headers={**OFFICER, "X-CSRF-Token": token},
    )
    assert stop.status_code == 303 and stop.headers["Location"].endswith("?lang=en")  # the form keeps ?lang=en
    withdrawal = client.post(
        register,
        data={"subject": "41", "kind": "withdraw", "channel": "written", "scope": "all"},
        headers={**OFFICER, "X-CSRF-Token": token},
    )
    assert withdrawal.status_code == 303
    with site.app.app_context():
        site.privacy.services.mailer.flush()  # the notices' first attempt fails
    return site, client, {"stop": stop.headers["Location"], "withdrawal": withdrawal.headers["Location"]}


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_officer_page_is_in_english_with_lang_en(desk: tuple[Site, Any, dict[str, str]]) -> None:
    _, client, pages = desk
    index = client.get("/privacy/officer/?lang=en", headers=OFFICER).get_data(as_text=True)
    assert not HANGUL.findall(words(index)), HANGUL.findall(words(index))
    for phrase in ("Requests to handle (overdue first)", "Member", "Due", "processing stop", "in writing"):
        assert phrase in index, phrase
    undelivered = index[index.index('<table id="undelivered">') :]
    assert "Notices not delivered" in index and "Attempts" in undelivered and "retrying" in undelivered
    assert "Register a written or emailed request" in index and 'action="/privacy/officer/requests?lang=en"' in index
    assert re.search(r'href="/privacy/officer/requests/\w+\?lang=en"', index)
    assert 'href="/privacy/officer/destructions?lang=en"' in index

    stop = client.get(pages["stop"], headers=OFFICER).get_data(as_text=True)
    assert not HANGUL.findall(words(stop)), HANGUL.findall(words(stop))
    for phrase in ("← Requests", "Received / due", "Complete", "Refusal ground", "Explanation", "Refuse"):
        assert phrase in stop, phrase
    assert re.search(r'action="/privacy/officer/requests/\w+/refuse\?lang=en"', stop)

    withdrawal = client.get(pages["withdrawal"], headers=OFFICER).get_data(as_text=True)
    assert not HANGUL.findall(words(withdrawal)), HANGUL.findall(words(withdrawal))
    assert "Kept under the law" in withdrawal
    assert "Records of payment and supply of goods: 1, kept until 2031-11-30" in withdrawal

    ledger = client.get("/privacy/officer/destructions?lang=en", headers=OFFICER)
    statutes = {
        r["statute"]
        for r in client.get("/privacy/officer/destructions", headers={**OFFICER, **JSON}).json["destructions"]
    }
    text = words(ledger.get_data(as_text=True))
    for statute in statutes:  # the ledger's own record, stored as written
        text = text.replace(statute, "")
    assert statutes and not HANGUL.findall(text), HANGUL.findall(text)
    for phrase in ("Destruction ledger", "Run at", "Retention class", "Target", "Method", "Executor"):
        assert phrase in text, phrase


def test_the_officer_pages_stay_korean_by_default(desk: tuple[Site, Any, dict[str, str]]) -> None:
    _, client, pages = desk
    index = client.get("/privacy/officer/", headers=OFFICER).get_data(as_text=True)
    assert "처리할 요청 (기한 초과 먼저)" in index and "전달되지 않은 통지" in index and "재시도 중" in index
    assert "Requests to handle" not in index and "?lang=" not in index
    stop = client.get(pages["stop"].replace("?lang=en", ""), headers=OFFICER).get_data(as_text=True)
    assert "처리 완료" in stop and "거절 사유" in stop
    assert "파기 기록" in client.get("/privacy/officer/destructions", headers=OFFICER).get_data(as_text=True)


def test_an_unknown_language_on_an_officer_page_is_400(desk: tuple[Site, Any, dict[str, str]]) -> None:
    _, client, _ = desk
    assert client.get("/privacy/officer/?lang=fr", headers=OFFICER).status_code == 400
