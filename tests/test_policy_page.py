"""The policy page and its JSON: rendered from the policy file, stating every fact of the seed."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_casenote_privacy import Privacy
from flask_casenote_privacy.periods import parse_period
from flask_casenote_privacy.policy.i18n import josa, period_label

ECOMMERCE_ACT = "전자상거래 등에서 소비자 보호에 관한 법률"
SEED_HEADINGS = [
    "1. 수집하는 개인정보",
    "2. 수집한 개인정보의 이용",
    "3. 개인정보처리의 위탁 및 개인정보의 제3자 제공",
    "4. 개인정보 보유 및 이용기간",
    "5. 개인정보의 파기 절차 및 방법",
    "6. 이용자의 권리와 그 행사방법",
    "7. 개인정보 보호책임자 안내",
]
CARD_ITEMS_KO = ["신용카드 번호", "카드 유효기간", "생년월일", "사업자등록번호", "카드비밀번호 앞 두자리"]
RETENTION_ROWS_KO = [
    ("계약 또는 청약철회 등에 관한 기록", ECOMMERCE_ACT, "5년"),
    ("대금결제 및 재화 등의 공급에 관한 기록", ECOMMERCE_ACT, "5년"),
    ("소비자의 불만 또는 분쟁처리에 관한 기록", ECOMMERCE_ACT, "3년"),
    ("표시/광고에 관한 기록", ECOMMERCE_ACT, "6개월"),
    ("접속로그 등 서비스 이용에 관한 기록", "통신비밀보호법", "3개월"),
]
REFUSAL_GROUNDS_KO = [
    "법률에 특별한 규정이 있거나 법령상 의무를 준수하기 위하여 불가피한 경우",
    "다른 사람의 생명·신체를 해할 우려가 있거나 다른 사람의 재산과 그 밖의 이익을 부당하게 침해할 우려가 있는 경우",
    "개인정보를 처리하지 아니하면 고객과 약정한 서비스를 제공하지 못하는 등 계약의 이행이 곤란한 경우로서 "
    "고객이 그 계약의 해지 의사를 명확하게 밝히지 아니한 경우",
]


class _TextExtractor(HTMLParser):
    """Visible text of a page: tags dropped, <style>/<script> skipped, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def between(text: str, start: str, end: str | None) -> str:
    """The text from ``start`` up to ``end`` (or the end)."""
    begin = text.index(start)
    stop = text.index(end, begin + len(start)) if end else len(text)
    return text[begin:stop]


@pytest.fixture
def ko_text(client: Any) -> str:
    response = client.get("/privacy/policy")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return page_text(response.get_data(as_text=True))


@pytest.fixture
def en_text(client: Any) -> str:
    response = client.get("/privacy/policy?lang=en")
    assert response.status_code == 200
    return page_text(response.get_data(as_text=True))


# -- the Korean page (default) ---------------------------------------------------------


def test_page_has_the_seeds_seven_sections_in_order_then_cookies(ko_text: str) -> None:
    positions = [ko_text.index(heading) for heading in SEED_HEADINGS]
    assert positions == sorted(positions)
    cookies = ko_text.index("8. 쿠키")
    assert cookies > positions[-1]


def test_page_is_korean_by_default(client: Any) -> None:
    html = client.get("/privacy/policy").get_data(as_text=True)
    assert '<html lang="ko">' in html
    assert "주식회사 케이스노트 개인정보 처리방침" in page_text(html)


def test_page_names_every_collected_item(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[0], SEED_HEADINGS[1])
    for label in ["이름", "이메일 주소", "IP 주소", "쿠키", "서비스 이용 기록", "기기정보", *CARD_ITEMS_KO]:
        assert label in section


def test_collection_sentence_uses_the_right_particles(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[0], SEED_HEADINGS[1])
    assert "이름과 이메일 주소를 필수항목으로 수집합니다" in section
    assert "IP 주소, 쿠키, 서비스 이용 기록, 기기정보가 생성되어 수집될 수 있습니다" in section


@pytest.mark.parametrize(
    ("label", "basis"),
    [
        ("회원관리", "계약의 체결·이행"),
        ("신규 서비스 발굴 및 기존 서비스 개선", "정보주체의 동의"),
        ("이용자 보호 및 서비스 운영", "개인정보처리자의 정당한 이익"),
        ("통계 및 광고", "정보주체의 동의"),
        ("보안 및 안전한 이용환경 구축", "법령상 의무의 준수"),
    ],
)
def test_each_purpose_states_its_legal_basis(ko_text: str, label: str, basis: str) -> None:
    section = between(ko_text, SEED_HEADINGS[1], SEED_HEADINGS[2])
    entry = between(section, f"{label} :", "처리 항목")
    assert f"법적 근거: {basis}" in entry


def test_optional_purposes_say_they_need_consent(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[1], SEED_HEADINGS[2])
    assert section.count("선택 동의") == 2
    assert "Sec-GPC" in between(section, "통계 및 광고 :", "보안 및 안전한 이용환경 구축 :")


def test_page_names_the_payment_agent_and_the_five_card_items(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[2], SEED_HEADINGS[3])
    assert "나이스페이먼츠 주식회사" in section
    assert "외부에 위탁할 수 있습니다" in section
    assert ", ".join(CARD_ITEMS_KO) in section
    # The particle follows "결제", not the parenthesised aside after it.
    assert "결제 (결제대행)를 위해" in section


@pytest.mark.parametrize(("record", "statute", "period"), RETENTION_ROWS_KO)
def test_each_retention_record_states_its_law_and_period(ko_text: str, record: str, statute: str, period: str) -> None:
    section = between(ko_text, SEED_HEADINGS[3], SEED_HEADINGS[4])
    labels = [row[0] for row in RETENTION_ROWS_KO] + ["회원 정보"]
    following = labels[labels.index(record) + 1]
    # The table row: record, then its statute, then its period, before the next row.
    row = between(section, f"{record} {statute}", following)
    assert row.rstrip().endswith(period)


def test_membership_data_is_kept_until_withdrawal(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[3], SEED_HEADINGS[4])
    assert "동의를 철회하는 경우 해당 개인정보를 지체 없이 파기합니다" in section
    assert "회원 탈퇴(동의 철회) 시까지" in between(section, "회원 정보", None)


def test_destruction_section_promises_a_separate_db_and_irrecoverable_deletion(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[4], SEED_HEADINGS[5])
    assert "별도의 DB" in section
    assert "재생할 수 없는" in section


def test_rights_section_explains_withdrawal_and_the_three_refusal_grounds(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[5], SEED_HEADINGS[6])
    assert "동의내용을 철회할 수 있습니다" in section
    assert "서면 또는 이메일(contact@casenote.kr)" in section
    assert "처리정지 요구를 거절할 수 있습니다" in section
    positions = [section.index(ground) for ground in REFUSAL_GROUNDS_KO]
    assert positions == sorted(positions)


def test_officer_section_names_kang_hyo_eun(ko_text: str) -> None:
    section = between(ko_text, SEED_HEADINGS[6], "8. 쿠키")
    assert "이름: 강효은" in section
    assert "이메일: contact@casenote.kr" in section


def test_officer_email_is_a_mailto_link(client: Any) -> None:
    html = client.get("/privacy/policy").get_data(as_text=True)
    assert 'href="mailto:contact@casenote.kr"' in html


def test_cookie_section_says_how_to_refuse_cookies_in_the_browser(ko_text: str) -> None:
    section = between(ko_text, "8. 쿠키", None)
    sentence = next(s for s in section.split(". ") if "거부할 수 있" in s)
    assert "브라우저" in sentence
    assert "정보주체의 동의" in section


def test_page_shows_the_policy_version(ko_text: str) -> None:
    assert "버전: 2026-11-28" in ko_text


# -- languages ------------------------------------------------------------------------


def test_english_page_states_the_facts_in_english(client: Any, en_text: str) -> None:
    html = client.get("/privacy/policy?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Casenote Inc. Privacy Policy" in en_text
    assert "NICE Payments" in en_text
    assert "5 years" in en_text
    assert "3 years" in en_text
    assert "6 months" in en_text
    assert "3 months" in en_text
    assert "Kang Hyo-eun (강효은)" in en_text
    assert "contact@casenote.kr" in en_text
    assert "Act on Consumer Protection in Electronic Commerce" in en_text
    assert "collects Name and Email address as required items" in en_text


def test_english_page_has_the_english_headings_in_order(en_text: str) -> None:
    headings = [
        "1. Personal information collected",
        "2. Use of collected personal information",
        "3. Outsourcing of processing and provision to third parties",
        "4. Retention and use period",
        "5. Destruction procedure and method",
        "6. Users' rights and how to exercise them",
        "7. Privacy officer",
        "8. Cookies",
    ]
    positions = [en_text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "수집하는 개인정보" not in en_text


def test_language_links_point_at_the_other_language(client: Any) -> None:
    assert 'href="?lang=en"' in client.get("/privacy/policy").get_data(as_text=True)
    assert 'href="?lang=ko"' in client.get("/privacy/policy?lang=en").get_data(as_text=True)


def test_explicit_korean_is_the_same_page_as_the_default(client: Any) -> None:
    assert client.get("/privacy/policy?lang=ko").data == client.get("/privacy/policy").data


def test_unknown_language_is_a_400_naming_the_available_ones(client: Any) -> None:
    response = client.get("/privacy/policy?lang=fr")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "unknown language &#39;fr&#39;" in body or "unknown language 'fr'" in body
    assert "ko, en" in body


def test_unknown_language_answers_json_to_a_json_client(client: Any) -> None:
    response = client.get("/privacy/policy?lang=fr", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "bad_request",
        "message": "unknown language 'fr'; this policy is available in: ko, en",
    }


# -- /privacy/policy.json ---------------------------------------------------------------


def test_policy_json_has_the_contract_shape(client: Any) -> None:
    response = client.get("/privacy/policy.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()

    assert isinstance(data["version"], str)
    assert isinstance(data["controller"], dict)
    assert data["officer"]["name"] == "강효은"
    assert data["officer"]["email"] == "contact@casenote.kr"

    for item in data["items"]:
        assert isinstance(item["id"], str)
        assert set(item["label"]) >= {"ko", "en"}
    assert [i["id"] for i in data["items"]][:2] == ["name", "email"]

    bases = {"consent", "contract", "legal_obligation", "legitimate_interest"}
    item_ids = {i["id"] for i in data["items"]}
    for purpose in data["purposes"]:
        assert purpose["basis"] in bases
        assert purpose["items"]
        assert set(purpose["items"]) <= item_ids
    assert {p["id"]: p["basis"] for p in data["purposes"]}["statistics_advertising"] == "consent"

    for retention in data["retention"]:
        assert retention["period"] is None or re.fullmatch(r"P(\d+[YMWD])+", retention["period"])
        assert retention["statute"]["ko"]
        assert retention["items"] or retention["records"]
    periods = {r["id"]: r["period"] for r in data["retention"]}
    assert periods == {
        "contract_record": "P5Y",
        "payment_record": "P5Y",
        "complaint_record": "P3Y",
        "advertising_record": "P6M",
        "access_log": "P3M",
        "membership": None,
    }

    (nicepay,) = data["recipients"]
    assert nicepay["id"] == "nicepay"
    assert nicepay["name"]["ko"] == "나이스페이먼츠 주식회사"
    assert nicepay["kind"] in {"outsourcing", "provision"}
    assert nicepay["purpose"]
    assert nicepay["items"] == [
        "card_number",
        "card_expiry",
        "birth_date",
        "business_registration_number",
        "card_password_prefix",
    ]

    assert [g["id"] for g in data["refusal_grounds"]] == [
        "legal_obligation",
        "harm_to_others",
        "contract_impossible",
        "access_limited_by_law",
        "access_harm_to_others",
        "kept_by_law",
        "correction_by_other_procedure",
    ]
    # Each ground says which requests it covers and the clause it rests on (issue 13).
    kinds = {g["id"]: (g["kinds"], g["clause"]) for g in data["refusal_grounds"]}
    assert kinds["legal_obligation"] == (["stop", "withdraw"], "37-2-1")
    assert kinds["access_harm_to_others"] == (["access"], "35-4-2")
    assert kinds["correction_by_other_procedure"] == (["correct"], "36-2")
    assert kinds["kept_by_law"] == (["delete"], "36-1")


def test_policy_json_is_the_policy_in_force(client: Any, app: Flask) -> None:
    with app.app_context():
        expected = app.extensions["privacy"].policy.to_dict()
    assert client.get("/privacy/policy.json").get_json() == expected


# -- the page follows the policy file ------------------------------------------------------


def _edited_preset(tmp_path: Path) -> Path:
    source = resources.files("flask_casenote_privacy") / "presets" / "casenote.toml"
    path = tmp_path / "policy.toml"
    with resources.as_file(source) as preset:
        shutil.copyfile(preset, path)
    text = path.read_text(encoding="utf-8")
    replacements = [
        ('name = "강효은"\nname_en = "Kang Hyo-eun"', 'name = "김민서"\nname_en = "Kim Min-seo"'),
        ('period = "P3M"', 'period = "P6M"'),
        (
            "# -- 5. Destruction",
            '[[retention]]\nid = "tax_record"\n'
            'label = { ko = "세무 관련 장부 및 증빙서류", en = "Tax books and vouchers" }\n'
            'period = "P7Y"\n'
            'statute = { ko = "국세기본법", en = "Framework Act on National Taxes" }\n'
            'records = { ko = "세무 관련 장부 및 증빙서류", en = "tax books and vouchers" }\n\n'
            "# -- 5. Destruction",
        ),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def test_changing_the_policy_file_changes_the_page_and_the_json(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = make_app(PRIVACY_POLICY=str(_edited_preset(tmp_path)))
    client = app.test_client()

    text = page_text(client.get("/privacy/policy").get_data(as_text=True))
    assert "이름: 김민서" in text
    assert "강효은" not in text
    access_row = between(text, "접속로그 등 서비스 이용에 관한 기록 통신비밀보호법", "세무 관련 장부")
    assert access_row.rstrip().endswith("6개월")
    assert "3개월" not in between(text, SEED_HEADINGS[3], SEED_HEADINGS[4])
    assert "세무 관련 장부 및 증빙서류 국세기본법 7년" in text
    en_text = page_text(client.get("/privacy/policy?lang=en").get_data(as_text=True))
    assert "Kim Min-seo (김민서)" in en_text
    assert "7 years" in en_text

    data = client.get("/privacy/policy.json").get_json()
    assert data["officer"]["name"] == "김민서"
    periods = {r["id"]: r["period"] for r in data["retention"]}
    assert periods["access_log"] == "P6M"
    assert periods["tax_record"] == "P7Y"
    assert [r["id"] for r in data["retention"]][-2:] == ["membership", "tax_record"]


# -- the host can override the template ------------------------------------------------------


@pytest.fixture
def host_app(tmp_path: Path) -> Iterator[Flask]:
    templates = tmp_path / "templates"
    (templates / "privacy").mkdir(parents=True)
    (templates / "privacy" / "policy.html").write_text(
        "<p>HOST TEMPLATE {{ privacy_controller.name }} / {{ privacy_officer.name }} / {{ privacy_lang }}</p>"
        "{% for r in privacy_retention %}<p>{{ r.label }}: {{ r.period }}</p>{% endfor %}",
        encoding="utf-8",
    )
    app = Flask("hostapp", template_folder=str(templates), instance_path=str(tmp_path / "host-instance"))
    app.config.update(TESTING=True, SECRET_KEY="host-secret-key")
    privacy = Privacy(app)
    yield app
    with app.app_context():
        privacy.services.databases.dispose()


def test_host_template_overrides_the_policy_page(host_app: Flask) -> None:
    client = host_app.test_client()
    response = client.get("/privacy/policy")
    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    assert text.startswith("HOST TEMPLATE 주식회사 케이스노트 / 강효은 / ko")
    assert "접속로그 등 서비스 이용에 관한 기록: 3개월" in text
    assert SEED_HEADINGS[0] not in text
    english = page_text(client.get("/privacy/policy?lang=en").get_data(as_text=True))
    assert english.startswith("HOST TEMPLATE Casenote Inc. / Kang Hyo-eun (강효은) / en")


# -- Korean particles and period labels --------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("이름", "과/와", "과"),  # final consonant ㅁ
        ("회사", "과/와", "와"),
        ("이메일 주소", "을/를", "를"),
        ("기기정보", "이/가", "가"),
        ("서비스 이용 기록", "이/가", "이"),
        ("회사", "은/는", "는"),
        ("케이스노트", "은/는", "는"),
        ("주식회사 케이스노트 ", "은/는", "는"),  # trailing space ignored
        ("결제", "을/를", "를"),
        ("신용카드 결제 (결제대행)", "을/를", "를"),  # an aside in parentheses is skipped
        ("쿠키 (선택)", "이/가", "가"),
        ("IP", "을/를", "을(를)"),  # not Hangul: both forms
        ("2026", "은/는", "은(는)"),
        ("", "이/가", "이(가)"),
    ],
)
def test_josa_picks_the_particle_that_fits_the_last_syllable(word: str, pair: str, expected: str) -> None:
    assert josa(word, pair) == expected


@pytest.mark.parametrize(
    ("iso", "ko", "en"),
    [
        ("P5Y", "5년", "5 years"),
        ("P3Y", "3년", "3 years"),
        ("P6M", "6개월", "6 months"),
        ("P3M", "3개월", "3 months"),
        ("P1Y", "1년", "1 year"),
        ("P1M", "1개월", "1 month"),
        ("P1Y6M", "1년 6개월", "1 year, 6 months"),
        ("P2W", "2주", "2 weeks"),
        ("P10D", "10일", "10 days"),
        ("PT12H", "12시간", "12 hours"),
    ],
)
def test_period_label_in_korean_and_english(iso: str, ko: str, en: str) -> None:
    period = parse_period(iso)
    assert period_label(period, "ko") == ko
    assert period_label(period, "en") == en


def test_period_label_for_until_withdrawal() -> None:
    assert period_label(None, "ko") == "회원 탈퇴(동의 철회) 시까지"
    assert period_label(None, "en") == "until membership ends (consent is withdrawn)"
