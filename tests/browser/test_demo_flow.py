"""One member's story through the Casenote demo, in a real browser against a real
server, checked at each step against the real databases:

sign up → decline the banner → search (no device information stored) → accept →
search (device information stored) → pay through the NICE Payments stand-in (no
card number anywhere) → download my data → leave (payment kept apart, encrypted)
→ the officer sees the request → ``flask privacy purge --now`` past the retention
→ the data is gone and the destruction ledger says so.

Screenshots of the main screens are taken on the way; they are written to
``docs/img/`` only when ``PRIVACY_TEST_SCREENSHOTS=docs/img`` (any directory) is set.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.archive_tables import destructions as archive_destructions
from flask_casenote_privacy.storage.tables import access_log, consent_events, destructions, provisions, subject_keys

from .conftest import OFFICER_EMAIL, ROOT, DemoServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEOUL = ZoneInfo("Asia/Seoul")
MEMBER_NAME = "박지현"
MEMBER_EMAIL = "jihyun@example.kr"
CARD = "4532 0151 1283 0366"  # a test number; it must never be stored by the site
CARD_DIGITS = CARD.replace(" ", "")
PURGE_NOW = "2032-01-01T00:00:00+09:00"  # past the five years of a payment made today

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy (the access-log writer is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class Shots:
    """Full-page screenshots, kept in ``PRIVACY_TEST_SCREENSHOTS`` when it is set."""

    def __init__(self, fallback: Path) -> None:
        wanted = os.environ.get("PRIVACY_TEST_SCREENSHOTS")
        self.dir = (ROOT / wanted) if wanted else fallback
        self.dir.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> None:
        page.wait_for_load_state("networkidle")
        path = self.dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


@pytest.fixture
def engines(demo: DemoServer) -> Iterator[dict[str, Engine]]:
    made = {
        "demo": create_engine(f"sqlite:///{demo.demo_db}"),
        "main": create_engine(f"sqlite:///{demo.main_db}"),
        "archive": create_engine(f"sqlite:///{demo.archive_db}"),
    }
    yield made
    for engine in made.values():
        engine.dispose()


def rows(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def search_rows(main: Engine, subject: str) -> list[Any]:
    return rows(
        main,
        select(access_log)
        .where(access_log.c.subject == subject, access_log.c.path == "/search")
        .order_by(access_log.c.occurred_at),
    )


def files_containing(directory: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and needle in p.read_bytes()
    )


def test_member_story_from_sign_up_to_purge(
    demo: DemoServer, context: Any, engines: dict[str, Engine], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    started = time.monotonic()
    shots = Shots(tmp_path / "screenshots")
    main, demo_db, archive = engines["main"], engines["demo"], engines["archive"]
    page = context.new_page()
    url = demo.url

    # -- a visitor arrives: the consent banner asks first ---------------------------------
    page.goto(url + "/")
    banner = page.locator("#consent-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("선택 동의")
    shots(page, "01-home-banner")

    # The policy page in the footer is the Korean policy, generated from the policy file.
    page.click("#footer-policy")
    expect(page.locator("h1")).to_contain_text("개인정보 처리방침")
    expect(page.locator("body")).to_contain_text("나이스페이먼츠 주식회사")  # section 3, the payment agent
    expect(page.locator("body")).to_contain_text("전자상거래 등에서 소비자 보호에 관한 법률")  # section 4
    shots(page, "08-policy")
    page.go_back()

    # -- sign up: a name and an email only ----------------------------------------------
    page.click("#nav-signup")
    expect(page.locator("h1")).to_have_text("회원가입")
    page.fill("#signup-name", MEMBER_NAME)
    page.fill("#signup-email", MEMBER_EMAIL)
    page.check("#signup-age")  # 만 14세 이상입니다 (the policy refuses members under 14)
    shots(page, "02-signup")
    page.click("#signup-submit")
    expect(page.locator("#nav-my-privacy")).to_be_visible()
    user = rows(demo_db, text("SELECT id, name, email FROM users WHERE email = :e").bindparams(e=MEMBER_EMAIL))
    assert [(u["name"], u["email"]) for u in user] == [(MEMBER_NAME, MEMBER_EMAIL)]
    uid = str(user[0]["id"])
    expect(banner).to_be_visible()  # a member who has not decided yet is asked too

    # -- decline the banner, then search: nothing about the device is kept -------------
    page.click("#banner-decline")
    expect(banner).to_have_count(0)
    ledger = rows(main, select(consent_events).where(consent_events.c.subject == uid))
    assert {(e["purpose"], e["granted"]) for e in ledger} == {
        ("service_improvement", False),
        ("statistics_advertising", False),
    }

    page.fill("#search-q", "임대차")
    page.click("#search-go")
    expect(page.locator("#result-count")).to_contain_text("1 건")
    declined = wait_for(lambda: search_rows(main, uid), what="the declined search in privacy_access_log")
    assert len(declined) == 1
    row = declined[0]
    assert row["status"] == 200 and row["method"] == "GET" and row["ip"] == "127.0.0.1"
    assert row["retention"] == "access_log"
    assert row["user_agent"] is None
    assert row["device_family"] is None and row["os_family"] is None and row["browser_family"] is None
    assert row["cookies"] is None
    assert "service_improvement" not in row["purposes"] and "statistics_advertising" not in row["purposes"]

    # -- accept on the consent page (the banner is gone once decided), search again ----
    page.get_by_role("link", name="쿠키·선택 동의 설정").click()
    page.locator("button[value=accept_all]").click()
    expect(page.locator("[role=status]")).to_contain_text("동의 설정을 저장했습니다")
    expect(page.locator("#consent-statistics_advertising input")).to_be_checked()
    latest = rows(
        main,
        select(consent_events.c.purpose, consent_events.c.granted)
        .where(consent_events.c.subject == uid)
        .order_by(consent_events.c.id.desc())
        .limit(2),
    )
    assert {(e["purpose"], e["granted"]) for e in latest} == {
        ("service_improvement", True),
        ("statistics_advertising", True),
    }

    page.goto(url + "/")
    expect(banner).to_have_count(0)
    page.fill("#search-q", "개인정보")
    page.click("#search-go")
    expect(page.locator("#result-count")).to_contain_text("건")
    expect(page.locator("main")).to_contain_text("개인정보 보호법 위반")
    shots(page, "03-search-results")
    both = wait_for(lambda: len(r := search_rows(main, uid)) == 2 and r, what="the accepted search")
    assert both[0]["user_agent"] is None  # the first search stays as it was captured
    accepted = both[1]
    ua = page.evaluate("navigator.userAgent")
    assert accepted["user_agent"] == ua
    assert accepted["os_family"] == "Linux"
    assert accepted["browser_family"] and "Chrome" in accepted["browser_family"]
    assert "statistics_advertising" in accepted["purposes"]

    # -- pay: the card data goes to the payment agent, never to the site -------------
    page.get_by_role("link", name="유료 플랜").click()
    page.click("#buy-monthly")
    expect(page.locator("h1")).to_contain_text("나이스페이먼츠 결제")
    page.fill("#card-number", CARD)
    page.fill("#card-expiry", "1229")
    page.fill("#birth-date", "900101")
    page.fill("#card-pw", "12")
    shots(page, "04-checkout")
    page.click("#pay-submit")
    expect(page.locator("#paid")).to_have_text("결제가 완료되었습니다")
    expect(page.locator("main")).to_contain_text("**** " + CARD_DIGITS[-4:])

    payments = rows(demo_db, text("SELECT * FROM payments WHERE user_id = :u").bindparams(u=int(uid)))
    assert len(payments) == 1
    payment = payments[0]
    assert payment["amount"] == 9900 and payment["plan"] == "monthly"
    assert re.fullmatch(r"NP[0-9A-F]{12}", payment["approval_no"])
    assert all(CARD_DIGITS not in str(v) for v in payment.values())
    handed = rows(main, select(provisions).where(provisions.c.subject == uid))
    assert [p["recipient"] for p in handed] == ["nicepay"]
    assert {"card_number", "card_expiry", "birth_date", "card_password_prefix"} <= set(
        re.split(r"[,\s\"\[\]]+", handed[0]["items"])
    )
    # Not in the demo database, the privacy databases, their journals, the spool or the server's log.
    for needle in (CARD_DIGITS.encode(), CARD.encode()):
        assert files_containing(demo.workdir, needle) == []

    # -- my privacy page ----------------------------------------------------------------
    page.click("#nav-my-privacy")
    expect(page.locator("h1")).to_have_text("내 개인정보")
    expect(page.locator("#my-consents")).to_contain_text("동의")
    expect(page.locator("main")).to_contain_text("9,900원")
    shots(page, "05-my-privacy")

    # -- download my data: a JSON file with the account, searches and the payment -----
    with page.expect_download() as download_info:
        page.click("#download-data")
    download = download_info.value
    assert download.suggested_filename == "my-data.json"
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    exported_text = json.dumps(exported, ensure_ascii=False)
    assert exported["subject"] == uid
    assert MEMBER_EMAIL in exported_text and MEMBER_NAME in exported_text
    assert payment["approval_no"] in exported_text
    assert CARD_DIGITS not in exported_text
    paid_records = [
        record
        for source in exported["sources"].values()
        for record in source["records"]
        if record.get("approval_no") == payment["approval_no"]
    ]
    assert len(paid_records) == 1 and paid_records[0]["amount"] == 9900
    assert "임대차" in exported_text and "개인정보" in exported_text  # the searches (usage records)

    # -- leave membership: erased at once, the payment kept apart and encrypted --------
    page.click("#leave-submit")
    expect(page.locator("#request-status")).to_have_attribute("data-status", "completed")
    request_id = page.url.split("/privacy/requests/")[1].split("?")[0]
    retained = page.locator("#retained")
    expect(retained).to_contain_text("전자상거래 등에서 소비자 보호에 관한 법률")
    kept = rows(
        archive,
        select(archived_records).where(archived_records.c.request_id == request_id),
    )
    assert [k["retention"] for k in kept] == ["payment_record"]
    until = kept[0]["expires_at"].astimezone(SEOUL)
    paid_on = datetime.now(timezone.utc).astimezone(SEOUL)
    assert until.year == paid_on.year + 5
    expect(retained).to_contain_text(until.date().isoformat())
    shots(page, "06-withdrawal-retained")

    assert rows(demo_db, text("SELECT id FROM users WHERE id = :u").bindparams(u=int(uid))) == []
    assert rows(demo_db, text("SELECT id FROM searches WHERE user_id = :u").bindparams(u=int(uid))) == []
    assert rows(demo_db, text("SELECT id FROM payments WHERE user_id = :u").bindparams(u=int(uid))) == []
    ciphertext = kept[0]["ciphertext"]
    assert payment["approval_no"].encode() not in ciphertext and b"9900" not in ciphertext
    assert re.fullmatch(r"[0-9a-f]{64}", kept[0]["subject_ref"])  # a keyed hash, not the member id
    archive_bytes = b"".join(p.read_bytes() for p in demo.workdir.glob("privacy-archive.sqlite*"))
    assert payment["approval_no"].encode() not in archive_bytes and MEMBER_EMAIL.encode() not in archive_bytes
    assert len(rows(main, select(subject_keys).where(subject_keys.c.subject == uid))) == 1

    # The member is signed out; the email is no longer a member's.
    page.goto(url + "/")
    expect(page.locator("#nav-login")).to_be_visible()

    # -- the officer sees the request --------------------------------------------------
    page.click("#nav-login")
    page.fill("#login-email", OFFICER_EMAIL)
    page.click("#login-submit")
    page.click("#nav-officer")
    expect(page.locator("h1")).to_contain_text("요청 관리")
    listed = page.locator("#requests tr", has_text=request_id[:8])
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("동의철회")
    expect(listed).to_contain_text("처리 완료")
    expect(listed.locator("td").nth(1)).to_have_text(uid)
    shots(page, "07-officer-requests")

    # -- purge, as a scheduled job would, once the retention is over ------------------
    demo.stop()  # SIGINT: the server's writer drains its last access events at exit
    before = rows(main, select(func.count()).select_from(access_log))[0]["count_1"]
    assert before > 0
    purged = demo.flask("privacy", "purge", "--now", PURGE_NOW)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "access_log" in purged.stdout and "payment_record" in purged.stdout

    assert rows(main, select(access_log.c.id)) == []
    assert rows(main, select(access_log.c.id).where(access_log.c.subject == uid)) == []
    assert rows(archive, select(archived_records.c.id)) == []
    assert rows(main, select(subject_keys).where(subject_keys.c.subject == uid)) == []
    assert rows(main, select(provisions).where(provisions.c.subject == uid)) == []
    ledger_main = {(r["retention"], r["target"]): r["count"] for r in rows(main, select(destructions))}
    ledger_archive = {(r["retention"], r["target"]): r["count"] for r in rows(archive, select(archive_destructions))}
    assert sum(n for (cls, _), n in ledger_main.items() if cls == "access_log") == before
    assert sum(n for (cls, _), n in ledger_archive.items() if cls == "payment_record") >= 1
    for needle in (CARD_DIGITS.encode(), CARD.encode()):
        assert files_containing(demo.workdir, needle) == []

    # -- the officer's destruction history, on the same databases served again --------
    demo.start()
    page.goto(url + "/privacy/officer/destructions")
    expect(page.locator("h1")).to_have_text("파기 기록")
    history = page.locator("#destructions")
    expect(history).to_contain_text("access_log")
    expect(history).to_contain_text("payment_record")
    shots(page, "09-destructions")

    stranger = context.browser.new_context(locale="ko-KR")
    try:
        again = stranger.new_page()
        again.goto(url + "/login")
        again.fill("#login-email", MEMBER_EMAIL)
        again.click("#login-submit")
        expect(again.locator(".flash")).to_contain_text("회원이 아닙니다")
    finally:
        stranger.close()

    assert len(shots.taken) == 9
    assert time.monotonic() - started < 60
