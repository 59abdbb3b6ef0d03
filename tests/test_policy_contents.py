"""What a privacy policy must contain (PIPA §30①, decree §31①, the PIPC's writing
guideline) and what the consent form must say (PIPA §15②, §22①).

The validator tests need no database; the page, the consent form and the provision
ledger are served by an app on SQLite, PostgreSQL and MariaDB (``backend_app``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_casenote_privacy import ConfigurationError
from flask_casenote_privacy.policy import i18n
from flask_casenote_privacy.policy.contents import DEFAULT_REMEDIES, MANDATORY_SECTIONS
from flask_casenote_privacy.policy.loader import PolicyError, load_policy, parse_policy
from tests.test_policy_file import MINIMAL
from tests.test_policy_page import between, page_text

PRESET = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text("utf-8")
SECTIONS = {
    "ko": [
        "9. 개인정보의 안전성 확보조치",
        "10. 개인정보 열람청구",
        "11. 권익침해 구제방법",
        "12. 개인정보 처리방침의 시행",
    ],
    "en": ["9. Measures that keep", "10. Department that receives", "11. How to seek remedy", "12. Effective date"],
}
REMEDY_CONTACTS = [
    ("개인정보분쟁조정위원회", "1833-6972", "https://www.kopico.go.kr"),
    ("개인정보침해신고센터", "118", "https://privacy.kisa.or.kr"),
    ("대검찰청", "1301", "https://www.spo.go.kr"),
    ("경찰청", "182", "https://ecrm.police.go.kr"),
]


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text)
    return excinfo.value.problems


def without(text: str, *sections: str) -> str:
    """``text`` with the named top-level tables (``[rights]`` ...) or keys removed."""
    for name in sections:
        if f"\n[{name}]\n" in text:
            start = text.index(f"\n[{name}]\n")
            end = text.find("\n[", start + 1)
            text = text[:start] + ("\n" + text[end:] if end != -1 else "\n")
        else:
            text = re.sub(rf"^{name} = .*\n", "", text, flags=re.M)
    return text


# -- the validator: a missing mandatory section fails, named with its law --------------


def test_minimal_file_has_every_mandatory_section() -> None:
    assert parse_policy(MINIMAL).rights is not None


def test_each_missing_mandatory_section_is_named_with_the_law_that_asks_for_it() -> None:
    problems = problems_of(without(MINIMAL, *MANDATORY_SECTIONS))
    for key, law in (
        ("effective_date", "시행일"),
        ("rights", "PIPA §30①5"),
        ("department", "PIPA §30①6"),
        ("safety", "decree §31①"),
    ):
        assert any(p.startswith(f"{key}: missing") and law in p for p in problems), (key, problems)
    assert len(problems) == 4


def test_policy_check_and_start_up_refuse_a_file_missing_a_section(
    runner: Any, make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(without(PRESET, "rights", "department"), encoding="utf-8")
    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 1
    assert "rights: missing" in result.output
    assert "department: missing" in result.output
    with pytest.raises(ConfigurationError) as excinfo:
        make_app(upgrade=False, PRIVACY_POLICY=str(path))
    assert "rights: missing" in str(excinfo.value)
    assert "department: missing" in str(excinfo.value)


def test_an_optional_purpose_must_say_what_refusing_means() -> None:
    text = re.sub(r"^refusal_consequence\.(ko|en) = .*\n", "", PRESET, flags=re.M)
    problems = problems_of(text)
    assert [p.split(":")[0] for p in problems] == [
        "purposes[1] (service_improvement)",
        "purposes[3] (statistics_advertising)",
    ]
    assert all("'refusal_consequence'" in p and "§15②4" in p for p in problems)


def test_the_department_needs_a_contact() -> None:
    problems = problems_of(MINIMAL.replace('phone = "02-0000-0000"\n', ""))
    assert problems == ["department: needs a 'phone' (or at least an 'email'): PIPA §30①6 asks for a contact"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('relationship = "entrustment"', 'relationship = "sale"', "relationship: 'sale' is not one of provision"),
        ('relationship = "entrustment"', "", "missing required key 'relationship'"),
        (
            'relationship = "entrustment"',
            'relationship = "entrustment"\nkind = "provision"',
            "relationship 'entrustment' and kind 'provision' disagree",
        ),
    ],
    ids=["unknown", "missing", "disagreeing"],
)
def test_a_recipients_relationship_is_explicit(old: str, new: str, expected: str) -> None:
    problems = problems_of(PRESET.replace(old, new, 1))
    assert len(problems) == 1
    assert problems[0].startswith("recipients[0] (nicepay)")
    assert expected in problems[0]


def test_the_older_kind_still_names_the_relationship() -> None:
    policy = parse_policy(PRESET.replace('relationship = "entrustment"', 'kind = "outsourcing"', 1))
    assert policy.recipient("nicepay").relationship == "entrustment"


def test_remedies_default_to_the_four_public_bodies_and_can_be_replaced() -> None:
    assert load_policy("casenote").remedies == DEFAULT_REMEDIES
    custom = MINIMAL + (
        '\n[[remedies]]\nid = "mediation"\nname = { ko = "분쟁조정", en = "Mediation" }\n'
        'phone = "1833-6972"\nurl = "https://www.kopico.go.kr"\n'
    )
    assert [r.id for r in parse_policy(custom).remedies] == ["mediation"]
    assert "remedies[0] (mediation): missing required key 'phone'" in problems_of(
        custom.replace('phone = "1833-6972"\n', "")
    )


# -- the preset: NICE Payments is entrustment everywhere ---------------------------------


def test_nice_payments_is_an_entrusted_processor_in_the_policy_and_its_json() -> None:
    policy = load_policy("casenote")
    nicepay = policy.recipient("nicepay")
    assert nicepay.relationship == "entrustment"
    assert nicepay.kind == "outsourcing"
    data = policy.to_dict()["recipients"][0]
    assert (data["relationship"], data["kind"], data["overseas"]) == ("entrustment", "outsourcing", None)


def test_no_company_fact_lives_in_the_ui_words() -> None:
    # "회사는 보관하지 않음" and "결제대행사" were fixed UI phrases; now they come from the file.
    for texts in i18n._UI.values():
        for text in texts.values():
            assert "회사는" not in text
            assert "결제대행사" not in text
            assert "payment agent" not in text


# -- the page on every backend ------------------------------------------------------------


@pytest.fixture
def page_app(make_app: Callable[..., Flask], database_urls: Any) -> Flask:
    main, archive = database_urls
    return make_app(
        PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_OPERATOR_ACCESS_PERIOD="P2Y"
    )


def test_the_page_has_the_four_new_sections_in_order_after_cookies(page_app: Flask) -> None:
    for lang, headings in SECTIONS.items():
        text = page_text(page_app.test_client().get(f"/privacy/policy?lang={lang}").get_data(as_text=True))
        positions = [text.index(h) for h in headings]
        assert positions == sorted(positions)
        assert positions[0] > text.index("8. ")


@pytest.mark.parametrize(
    ("lang", "rights", "representative"),
    [
        ("ko", ["열람", "정정·삭제", "처리정지", "동의 철회"], "법정대리인이나 이용자로부터 위임을 받은 대리인"),
        ("en", ["access", "correction or deletion", "stopping", "withdrawing consent"], "A legal representative"),
    ],
)
def test_rights_section_lists_the_rights_the_channels_and_the_legal_representative(
    page_app: Flask, lang: str, rights: list[str], representative: str
) -> None:
    text = page_text(page_app.test_client().get(f"/privacy/policy?lang={lang}").get_data(as_text=True))
    section = between(text, "6. ", "7. ")
    for right in rights:
        assert right in section
    assert "contact@casenote.kr" in section
    assert representative in section


def test_each_retention_class_with_a_period_names_the_items_it_keeps(page_app: Flask) -> None:
    text = page_text(page_app.test_client().get("/privacy/policy").get_data(as_text=True))
    kept = between(between(text, "4. 개인정보 보유", "5. 개인정보의 파기"), "보존 항목", None)
    assert "접속로그 등 서비스 이용에 관한 기록: IP 주소, 서비스 이용 기록, 기기정보, 쿠키" in kept
    assert "대금결제 및 재화 등의 공급에 관한 기록: 대금결제 및 재화 등의 공급에 관한 기록" in kept


@pytest.mark.parametrize(
    ("lang", "period", "measures"),
    [
        ("ko", "2년", ["별도의 DB", "암호화(AES-256-GCM)", "접속기록", "복구할 수 없는 방법"]),
        ("en", "2 years", ["separate from", "encrypted (AES-256-GCM)", "is recorded", "cannot be restored"]),
    ],
)
def test_safety_measures_are_what_the_extension_does_in_this_app(
    page_app: Flask, lang: str, period: str, measures: list[str]
) -> None:
    text = page_text(page_app.test_client().get(f"/privacy/policy?lang={lang}").get_data(as_text=True))
    section = between(text, SECTIONS[lang][0], SECTIONS[lang][1])
    for measure in measures:
        assert measure in section
    assert period in section  # PRIVACY_OPERATOR_ACCESS_PERIOD, not a fixed number


def test_department_remedies_and_effective_date_are_stated(page_app: Flask) -> None:
    html = page_app.test_client().get("/privacy/policy").get_data(as_text=True)
    text = page_text(html)
    assert "부서: 개인정보 보호책임자" in between(text, SECTIONS["ko"][1], SECTIONS["ko"][2])
    remedies = between(text, SECTIONS["ko"][2], SECTIONS["ko"][3])
    for name, phone, url in REMEDY_CONTACTS:
        assert re.search(rf"{name}[^0-9]*{re.escape(phone)} {re.escape(url)}", remedies), name
        assert f'href="{url}"' in html
    assert "이 개인정보 처리방침은 2026-11-28부터 시행됩니다." in text


def test_recipients_are_listed_under_their_relationship(page_app: Flask) -> None:
    text = page_text(page_app.test_client().get("/privacy/policy").get_data(as_text=True))
    section = between(text, "3. 개인정보처리의", "4. 개인정보 보유")
    entrusted = between(section, "개인정보 처리위탁", "개인정보 제3자 제공")
    assert "나이스페이먼츠 주식회사에 위탁합니다" in entrusted
    assert "제3자에게 제공하는 개인정보가 없습니다" in between(section, "개인정보 제3자 제공", "개인정보의 국외 이전")
    assert "국외로 이전하는 곳은 없습니다" in between(section, "개인정보의 국외 이전", None)
    # the card items' row says where they go, from the recipients, not a fixed phrase
    assert "유료 서비스 결제 시 (나이스페이먼츠 주식회사; 회사는 보관하지 않음)" in text


def test_a_provision_and_an_overseas_transfer_in_the_file_reach_the_page(
    make_app: Callable[..., Flask], database_urls: Any, tmp_path: Path
) -> None:
    edited = PRESET.replace(
        'relationship = "entrustment"',
        'relationship = "provision"\noverseas = { country = { ko = "미국", en = "United States" }, '
        'method = { ko = "결제 시 네트워크로 전송", en = "sent over the network at payment" } }',
        1,
    )
    path = tmp_path / "policy.toml"
    path.write_text(edited, encoding="utf-8")
    main, archive = database_urls
    app = make_app(PRIVACY_POLICY=str(path), PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive)
    text = page_text(app.test_client().get("/privacy/policy").get_data(as_text=True))
    section = between(text, "3. 개인정보처리의", "4. 개인정보 보유")
    assert "처리를 위탁하는 곳이 없습니다" in between(section, "개인정보 처리위탁", "개인정보 제3자 제공")
    assert "나이스페이먼츠 주식회사에 제공합니다" in between(section, "개인정보 제3자 제공", "개인정보의 국외 이전")
    assert "나이스페이먼츠 주식회사 미국" in between(section, "개인정보의 국외 이전", None)
    assert "결제 시 네트워크로 전송" in section
    data = app.test_client().get("/privacy/policy.json").get_json()
    assert data["recipients"][0]["overseas"]["country"] == {"ko": "미국", "en": "United States"}


def test_a_handover_to_an_entrusted_processor_is_recorded_as_entrustment(page_app: Flask) -> None:
    privacy = page_app.extensions["privacy"]
    with page_app.app_context():
        row = privacy.record_provision("41", recipient="nicepay", items=["card_number"])
        assert row["relationship"] == "entrustment"
        (entry,) = privacy.export("41")["provisions"]
    assert entry["relationship"] == "entrustment"


# -- the consent form on every backend ------------------------------------------------------


class _Fieldsets(HTMLParser):
    """Each <fieldset id="consent-..."> of the form: its text and its checkboxes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, dict[str, Any]] = {}
        self.current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "fieldset" and (a.get("id") or "").startswith("consent-"):
            self.current = str(a["id"])[len("consent-") :]
            self.found[self.current] = {"text": "", "boxes": []}
        elif tag == "input" and a.get("type") == "checkbox":
            if self.current is None:
                raise AssertionError(f"a checkbox outside any purpose: {a}")
            self.found[self.current]["boxes"].append((a.get("name"), a.get("value")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.found[self.current]["text"] += data


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_consent_form_tells_each_purpose_what_the_law_asks_with_its_own_box(page_app: Flask, lang: str) -> None:
    policy = load_policy("casenote")
    html = page_app.test_client().get(f"/privacy/consent?lang={lang}").get_data(as_text=True)
    parser = _Fieldsets()
    parser.feed(html)
    assert (
        list(parser.found)
        == [p.id for p in policy.consent_purposes]
        == [
            "service_improvement",
            "statistics_advertising",
        ]
    )
    for purpose in policy.consent_purposes:
        fieldset = parser.found[purpose.id]
        text = re.sub(r"\s+", " ", fieldset["text"])
        assert fieldset["boxes"] == [("purpose", purpose.id)]  # one box per purpose, never one for several
        assert purpose.description.get(lang) in text  # §15②1 the purpose
        for item in purpose.items:  # §15②2 the items
            assert policy.item(item).label.get(lang) in text
        period = "3개월" if lang == "ko" else "3 months"  # §15②3 the period (access_log)
        assert period in between(text, i18n.ui("consent.period", lang), i18n.ui("consent.if_refused", lang))
        assert i18n.ui("consent.right_to_refuse", lang) in text  # §15②4 the right to refuse ...
        assert purpose.refusal_consequence is not None
        assert purpose.refusal_consequence.get(lang) in text  # ... and what refusing means


def test_the_consent_json_carries_the_same_details(page_app: Flask) -> None:
    data = page_app.test_client().get("/privacy/consent", headers={"Accept": "application/json"}).get_json()
    details = {p["id"]: p["details"] for p in data["purposes"]}
    assert details["statistics_advertising"]["en"]["refusal_consequence"].startswith("Refusing does not limit")
    assert details["service_improvement"]["ko"]["item_labels"] == "서비스 이용 기록, 기기정보, 쿠키"


def test_policy_show_prints_the_new_sections(runner: Any) -> None:
    result = runner.invoke(args=["privacy", "policy", "show", "--lang", "en"])
    assert result.exit_code == 0, result.output
    for line in (
        "Transfers abroad: None of the recipients above transfers personal information abroad.",
        "Items kept: IP address, Service usage records, Device information, Cookies",
        "Legal representatives and agents: A legal representative",
        "and the records are kept for 1 year.",
        "  - Email: contact@casenote.kr",
        "  - Korean National Police Agency: 182, https://ecrm.police.go.kr",
        "This privacy policy takes effect on 2026-11-28.",
    ):
        assert line in result.output
