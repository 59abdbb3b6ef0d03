"""Children under 14 (개인정보 보호법 제22조의2, 시행령 제17조의2): the policy's
``[children]`` rule is validated, shown on the policy page, checked at sign-up (by an
age confirmation or a birth date, on the policy's calendar), and a legal
representative's consent is recorded with how and when it was confirmed; the
representative's name and contact go once the member has left."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import URL

from flask_casenote_privacy import InvalidRequest, check_policy
from flask_casenote_privacy.consent import ledger_grants
from flask_casenote_privacy.policy.children import full_years
from flask_casenote_privacy.retention.ledger import destruction_history
from flask_casenote_privacy.storage.tables import consent_events, guardian_consents

PRESET = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text("utf-8")
CHILDREN = '[children]\nminimum_age = 14\nguardian_consent = false\nage_check = "confirmation"\n'
GUARDIAN_NAME, GUARDIAN_CONTACT = "김보호", "010-1234-5678"


def policy_file(tmp_path: Path, children: str, *edits: tuple[str, str]) -> str:
    text = PRESET
    assert text.count(CHILDREN) == 1
    text = text.replace(CHILDREN, children)
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# A policy that checks the birth date (asked at sign-up, not kept).
BIRTH_DATE_ITEM = (
    'id = "birth_date"\nlabel = { ko = "생년월일", en = "Date of birth" }\ncollection = "payment"\n',
    'id = "birth_date"\nlabel = { ko = "생년월일", en = "Date of birth" }\ncollection = "signup"\n',
)
# A policy that accepts a legal representative's consent: their name and contact are items.
GUARDIAN_ITEMS = (
    '[[items]]\nid = "ip_address"',
    '[[items]]\nid = "guardian_name"\nlabel = { ko = "법정대리인 이름", en = "Legal guardian\'s name" }\n'
    'collection = "signup"\n\n[[items]]\nid = "guardian_contact"\n'
    'label = { ko = "법정대리인 연락처", en = "Legal guardian\'s contact" }\ncollection = "signup"\n\n'
    '[[items]]\nid = "ip_address"',
)
GUARDIAN_PURPOSE = (
    'items = ["name", "email"]\n\n[[purposes]]',
    'items = ["name", "email", "guardian_name", "guardian_contact"]\n\n[[purposes]]',
)
GUARDIAN_RETENTION = (
    'items = ["name", "email"]\nrecords = { ko = "회원',
    'items = ["name", "email", "guardian_name", "guardian_contact"]\nrecords = { ko = "회원',
)


def guardian_policy(tmp_path: Path) -> str:
    return policy_file(
        tmp_path,
        CHILDREN.replace("guardian_consent = false", "guardian_consent = true"),
        GUARDIAN_ITEMS,
        GUARDIAN_PURPOSE,
        GUARDIAN_RETENTION,
    )


# -- the policy file ---------------------------------------------------------------------
def test_the_preset_page_says_under_14_cannot_join_in_korean_and_english(client: Any) -> None:
    ko = client.get("/privacy/policy").get_data(as_text=True)
    assert "만 14세 미만 아동의 개인정보" in ko and "만 14세 미만 아동의 회원가입을 받지 않으며" in ko
    assert "개인정보 보호법 제22조의2" in ko
    en = client.get("/privacy/policy?lang=en").get_data(as_text=True)
    assert "Children under 14" in en and "does not accept members under 14" in en
    assert client.get("/privacy/policy.json").get_json()["children"] == {
        "minimum_age": 14,
        "guardian_consent": False,
        "age_check": "confirmation",
        "text": None,
    }


def test_a_guardian_policy_page_says_what_is_collected_and_that_consent_is_confirmed(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    client = make_app(PRIVACY_POLICY=guardian_policy(tmp_path)).test_client()
    ko = client.get("/privacy/policy").get_data(as_text=True)
    assert "법정대리인(부모님 등)의 동의가 필요합니다" in ko and "이름과 연락처만" in ko
    en = client.get("/privacy/policy?lang=en").get_data(as_text=True)
    assert "only with the consent of a legal guardian" in en


def test_nonsense_children_rules_are_refused_each_named(tmp_path: Path) -> None:
    path = policy_file(
        tmp_path,
        '[children]\nminimum_age = 12\nguardian_consent = "yes"\nage_check = "ask"\nsince = 2020\n',
    )
    problems = check_policy(path)
    joined = "\n".join(problems)
    assert "children.minimum_age: must be a whole number of years from 14" in joined
    assert "children.guardian_consent: must be true or false" in joined
    assert "children.age_check: 'ask' is not one of confirmation, birth_date" in joined
    assert "children: unknown key 'since'" in joined
    for rule in ("minimum_age = 20", "minimum_age = true", 'minimum_age = "14"', "minimum_age = -1"):
        assert any("children.minimum_age" in p for p in check_policy(policy_file(tmp_path, f"[children]\n{rule}\n")))
    # Asking a birth date needs it to be an item collected at sign-up; a guardian's consent
    # needs their name and contact to be items.
    problems = check_policy(
        policy_file(tmp_path, '[children]\nminimum_age = 14\nguardian_consent = true\nage_check = "birth_date"\n')
    )
    assert any('children.age_check: "birth_date" asks members their birth date' in p for p in problems)
    assert any("add the item(s) guardian_name, guardian_contact" in p for p in problems)
    assert check_policy(policy_file(tmp_path, CHILDREN.replace("14", "16"))) == []


# -- the age check -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(2012, 12, 1), date(2026, 12, 1), 14),
        (date(2012, 12, 1), date(2026, 11, 30), 13),
        (date(2012, 2, 29), date(2026, 2, 28), 13),  # a leap-day birthday: 14 on 1 March
        (date(2012, 2, 29), date(2026, 3, 1), 14),
        (date(2012, 2, 29), date(2028, 2, 29), 16),
    ],
)
def test_age_is_counted_in_full_years(born: date, today: date, age: int) -> None:
    assert full_years(born, today) == age


def test_the_confirmation_check_refuses_under_14_with_a_plain_message(app: Flask, clock: Any) -> None:
    privacy = app.extensions["privacy"]
    with app.app_context():
        yes = privacy.check_age(confirmed=True)
        no = privacy.check_age(confirmed=False)
        assert yes.allowed and not yes.refused
        assert no.refused and not no.guardian_required
        assert no.message("ko") == "만 14세 미만은 가입할 수 없습니다."
        assert no.message("en") == "You must be 14 or older to join."
        with pytest.raises(InvalidRequest, match="collects no birth date"):
            privacy.check_age("2000-01-01")  # the preset does not collect it
        with pytest.raises(InvalidRequest, match="either birth_date= or confirmed="):
            privacy.check_age()


def test_the_birth_date_check_counts_today_on_the_seoul_calendar(
    make_app: Callable[..., Flask], tmp_path: Path, clock: Any
) -> None:
    app = make_app(
        PRIVACY_POLICY=policy_file(tmp_path, CHILDREN.replace("confirmation", "birth_date"), BIRTH_DATE_ITEM)
    )
    privacy = app.extensions["privacy"]
    clock.set("2026-11-30T15:30:00+00:00")  # already 2026-12-01 00:30 in Seoul
    with app.app_context():
        birthday = privacy.check_age("2012-12-01")
        assert (birthday.allowed, birthday.age) == (True, 14)
        day_before = privacy.check_age(date(2012, 12, 2))
        assert (day_before.allowed, day_before.refused, day_before.age) == (False, True, 13)
        with pytest.raises(InvalidRequest) as bad:
            privacy.check_age("2030-01-01")
        assert "in the future" in bad.value.message
        for garbage in ("yesterday", "2012-13-01", 20121201):
            with pytest.raises(InvalidRequest, match="not a date"):
                privacy.check_age(garbage)
        with pytest.raises(InvalidRequest, match="checks the birth date"):
            privacy.check_age(confirmed=True)


# -- the legal representative's consent, on every backend ---------------------------------
def test_guardian_consent_is_recorded_with_how_and_when_then_emptied_once_the_member_leaves(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, clock: Any
) -> None:
    main, archive = database_urls
    clock.set("2026-11-30T12:00:00+09:00")
    app = make_app(
        PRIVACY_POLICY=guardian_policy(tmp_path), PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive
    )
    privacy = app.extensions["privacy"]
    services = privacy.services
    with app.app_context():
        under = privacy.check_age(confirmed=False)
        assert under.guardian_required and not under.refused
        assert under.message("ko") == "만 14세 미만은 부모님 등 법정대리인의 동의가 있어야 가입할 수 있습니다."

        with pytest.raises(InvalidRequest) as bad:
            privacy.record_guardian_consent(
                "41", guardian_name=" ", guardian_contact="", method="carrier-pigeon",
                verified_at=datetime(2027, 1, 1, tzinfo=timezone.utc), purposes=["member_management"],
            )  # fmt: skip
        for problem in ("guardian_name is required", "guardian_contact is required", "method must be one of",
                        "verified_at is in the future", "'member_management'"):  # fmt: skip
            assert problem in bad.value.message
        with services.databases.main.connect() as conn:
            assert conn.execute(select(guardian_consents)).all() == []  # nothing written

        verified = datetime(2026, 11, 30, 2, 30, tzinfo=timezone.utc)
        answer = privacy.record_guardian_consent(
            "41",
            guardian_name=GUARDIAN_NAME,
            guardian_contact=GUARDIAN_CONTACT,
            method="sms",
            verified_at=verified,
            purposes=["service_improvement"],
        )
        assert answer["method"] == "sms" and answer["verified_at"] == "2026-11-30T11:30:00+09:00"
        assert GUARDIAN_CONTACT not in json.dumps(answer, ensure_ascii=False)
        with services.databases.main.connect() as conn:
            row = conn.execute(select(guardian_consents)).mappings().one()
            events = conn.execute(select(consent_events)).mappings().all()
        assert (row["subject"], row["guardian_name"], row["guardian_contact"]) == (
            "41",
            GUARDIAN_NAME,
            GUARDIAN_CONTACT,
        )
        assert row["verified_at"].replace(tzinfo=timezone.utc) == verified
        assert [(e["purpose"], e["granted"], e["channel"]) for e in events] == [
            ("service_improvement", True, "guardian")
        ]
        assert {g.purpose for g in ledger_grants(services.databases.main, "41") if g.granted} == {"service_improvement"}

        # While the member stays, the purge keeps it; once they leave, the name and contact go.
        runner = app.test_cli_runner()
        assert "guardian_consent" not in runner.invoke(args=["privacy", "purge", "--format", "json"]).stdout
        services.end_incarnation("41")
        dry = json.loads(runner.invoke(args=["privacy", "purge", "--dry-run", "--format", "json"]).stdout)
        membership = next(c for c in dry["classes"] if c["retention"] == "membership")
        assert membership["destroyed"] == 1 and "guardian_consent" in membership["targets"]
        real = json.loads(runner.invoke(args=["privacy", "purge", "--format", "json"]).stdout)
        with services.databases.main.connect() as conn:
            row = conn.execute(select(guardian_consents)).mappings().one()
        assert (row["guardian_name"], row["guardian_contact"], row["method"]) == (None, None, "sms")
        rows = [r for r in destruction_history(services) if r["run_id"] == real["run_id"]]
        assert [(r["retention"], r["target"], r["count"]) for r in rows] == [("membership", "guardian_consent", 1)]
        assert not re.search(GUARDIAN_CONTACT, json.dumps(rows, ensure_ascii=False))


def test_a_withdrawal_empties_the_guardians_name_and_contact_in_its_own_run(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    main, archive = database_urls
    app = make_app(
        PRIVACY_POLICY=guardian_policy(tmp_path), PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive
    )
    privacy = app.extensions["privacy"]
    with app.app_context():
        privacy.record_guardian_consent(
            "42", guardian_name=GUARDIAN_NAME, guardian_contact=GUARDIAN_CONTACT, method="written"
        )
        privacy.record_guardian_consent("43", guardian_name="이보호", guardian_contact="010-9999-0000", method="email")
        request = privacy.register_request(subject="42", kind="withdraw", channel="written", scope="all")
        assert request["status"] == "completed"
        with privacy.services.databases.main.connect() as conn:
            rows = {r["subject"]: r for r in conn.execute(select(guardian_consents)).mappings()}
        assert (rows["42"]["guardian_name"], rows["42"]["guardian_contact"]) == (None, None)
        assert rows["43"]["guardian_contact"] == "010-9999-0000"  # another member's: untouched
        ledger = [r for r in destruction_history(privacy.services) if r["run_id"] == request["id"]]
        assert [(r["retention"], r["target"], r["count"]) for r in ledger] == [("membership", "guardian_consent", 1)]


def test_the_preset_accepts_no_guardian_consent(app: Flask) -> None:
    with app.app_context(), pytest.raises(InvalidRequest, match="accepts no legal representative's consent"):
        app.extensions["privacy"].record_guardian_consent(
            "41", guardian_name=GUARDIAN_NAME, guardian_contact=GUARDIAN_CONTACT, method="sms"
        )
