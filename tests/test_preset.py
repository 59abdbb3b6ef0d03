"""The bundled ``casenote`` preset holds every fact of the seed policy, under the contract's ids."""

from __future__ import annotations

import pytest

from flask_casenote_privacy.policy.loader import load_policy
from flask_casenote_privacy.policy.model import Policy, Text

ECOMMERCE_ACT = "전자상거래 등에서 소비자 보호에 관한 법률"
COMMUNICATIONS_ACT = "통신비밀보호법"
CARD_ITEMS = [
    "card_number",
    "card_expiry",
    "birth_date",
    "business_registration_number",
    "card_password_prefix",
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("casenote")


def test_items_are_the_contract_ids_in_the_seeds_order(policy: Policy) -> None:
    assert [i.id for i in policy.items] == [
        "name",
        "email",
        "ip_address",
        "cookie",
        "usage_record",
        "device_info",
        *CARD_ITEMS,
    ]


@pytest.mark.parametrize(
    ("item_id", "ko"),
    [
        ("name", "이름"),
        ("email", "이메일 주소"),
        ("ip_address", "IP 주소"),
        ("cookie", "쿠키"),
        ("usage_record", "서비스 이용 기록"),
        ("device_info", "기기정보"),
        ("card_number", "신용카드 번호"),
        ("card_expiry", "카드 유효기간"),
        ("birth_date", "생년월일"),
        ("business_registration_number", "사업자등록번호"),
        ("card_password_prefix", "카드비밀번호 앞 두자리"),
    ],
)
def test_item_labels_keep_the_seeds_korean_wording(policy: Policy, item_id: str, ko: str) -> None:
    assert policy.item(item_id).label.get("ko") == ko


def test_name_and_email_are_required_at_signup(policy: Policy) -> None:
    signup = [i for i in policy.items if i.collection == "signup"]
    assert [i.id for i in signup] == ["name", "email"]
    assert all(i.required and i.stored for i in signup)


def test_usage_items_are_generated_during_use_and_optional(policy: Policy) -> None:
    usage = [i for i in policy.items if i.collection == "usage"]
    assert [i.id for i in usage] == ["ip_address", "cookie", "usage_record", "device_info"]
    assert not any(i.required for i in usage)
    assert all(i.stored for i in usage)


def test_card_items_are_given_at_payment_and_never_stored(policy: Policy) -> None:
    payment = [i for i in policy.items if i.collection == "payment"]
    assert [i.id for i in payment] == CARD_ITEMS
    assert not any(i.stored for i in payment)
    kept = {i for r in policy.retention for i in r.items}
    assert kept.isdisjoint(CARD_ITEMS)


def test_the_five_purposes_and_their_bases(policy: Policy) -> None:
    assert {p.id: p.basis for p in policy.purposes} == {
        "member_management": "contract",
        "service_improvement": "consent",
        "user_protection": "legitimate_interest",
        "statistics_advertising": "consent",
        "security": "legal_obligation",
    }
    assert [p.id for p in policy.purposes] == [
        "member_management",
        "service_improvement",
        "user_protection",
        "statistics_advertising",
        "security",
    ]


def test_only_the_two_optional_purposes_need_consent(policy: Policy) -> None:
    assert [p.id for p in policy.consent_purposes] == ["service_improvement", "statistics_advertising"]
    for purpose_id in ("member_management", "user_protection", "security"):
        assert not policy.purpose(purpose_id).needs_consent


def test_only_statistics_advertising_honours_gpc(policy: Policy) -> None:
    assert [p.id for p in policy.purposes if p.honours_gpc] == ["statistics_advertising"]


def test_member_management_uses_name_and_email(policy: Policy) -> None:
    assert policy.purpose("member_management").items == ("name", "email")


@pytest.mark.parametrize("item_id", ["device_info", "cookie"])
def test_device_info_and_cookies_serve_only_consent_purposes(policy: Policy, item_id: str) -> None:
    users = policy.purposes_using(item_id)
    assert users, f"no purpose uses {item_id}"
    assert all(p.needs_consent for p in users)


@pytest.mark.parametrize("item_id", ["ip_address", "usage_record"])
def test_ip_address_and_usage_records_serve_purposes_without_consent(policy: Policy, item_id: str) -> None:
    without_consent = {p.id for p in policy.purposes_using(item_id) if not p.needs_consent}
    assert {"user_protection", "security"} <= without_consent


def test_every_stored_item_has_a_purpose_and_a_retention_class(policy: Policy) -> None:
    kept = {i for r in policy.retention for i in r.items}
    for item in policy.items:
        if item.stored:
            assert policy.purposes_using(item.id), item.id
            assert item.id in kept, item.id


@pytest.mark.parametrize(
    ("class_id", "period", "statute", "records_ko"),
    [
        ("contract_record", "P5Y", ECOMMERCE_ACT, "계약 또는 청약철회 등에 관한 기록"),
        ("payment_record", "P5Y", ECOMMERCE_ACT, "대금결제 및 재화 등의 공급에 관한 기록"),
        ("complaint_record", "P3Y", ECOMMERCE_ACT, "소비자의 불만 또는 분쟁처리에 관한 기록"),
        ("advertising_record", "P6M", ECOMMERCE_ACT, "표시/광고에 관한 기록"),
        ("access_log", "P3M", COMMUNICATIONS_ACT, "접속로그 등 서비스 이용에 관한 기록"),
    ],
)
def test_statutory_retention_classes_of_section_4(
    policy: Policy, class_id: str, period: str, statute: str, records_ko: str
) -> None:
    retention = policy.retention_class(class_id)
    assert retention.period is not None
    assert retention.period.iso == period
    assert retention.statute.get("ko") == statute
    assert retention.label.get("ko") == records_ko
    assert not retention.until_withdrawal


def test_membership_is_kept_until_withdrawal(policy: Policy) -> None:
    membership = policy.retention_class("membership")
    assert membership.period is None
    assert membership.until_withdrawal
    assert membership.items == ("name", "email")


def test_retention_classes_are_exactly_the_contract_ids(policy: Policy) -> None:
    assert [r.id for r in policy.retention] == [
        "contract_record",
        "payment_record",
        "complaint_record",
        "advertising_record",
        "access_log",
        "membership",
    ]


def test_access_log_keeps_ip_address_and_usage_records(policy: Policy) -> None:
    assert {"ip_address", "usage_record"} <= set(policy.retention_class("access_log").items)


def test_nicepay_receives_exactly_the_five_card_items_as_outsourcing(policy: Policy) -> None:
    assert [r.id for r in policy.recipients] == ["nicepay"]
    nicepay = policy.recipient("nicepay")
    assert nicepay.name.get("ko") == "나이스페이먼츠 주식회사"
    assert nicepay.kind == "outsourcing"
    assert list(nicepay.items) == CARD_ITEMS
    assert "결제" in nicepay.purpose.get("ko")


@pytest.mark.parametrize(
    ("ground_id", "ko"),
    [
        ("legal_obligation", "법률에 특별한 규정이 있거나 법령상 의무를 준수하기 위하여 불가피한 경우"),
        (
            "harm_to_others",
            "다른 사람의 생명·신체를 해할 우려가 있거나 다른 사람의 재산과 그 밖의 이익을 "
            "부당하게 침해할 우려가 있는 경우",
        ),
        (
            "contract_impossible",
            "개인정보를 처리하지 아니하면 고객과 약정한 서비스를 제공하지 못하는 등 계약의 이행이 "
            "곤란한 경우로서 고객이 그 계약의 해지 의사를 명확하게 밝히지 아니한 경우",
        ),
    ],
)
def test_refusal_grounds_keep_the_seeds_text(policy: Policy, ground_id: str, ko: str) -> None:
    assert policy.refusal_ground(ground_id).text.get("ko") == ko


def test_refusal_grounds_are_exactly_the_three_of_section_6(policy: Policy) -> None:
    # A processing stop or consent withdrawal: §37②'s three, as the seed says.
    for kind in ("stop", "withdraw"):
        assert [g.id for g in policy.grounds_for(kind)] == [
            "legal_obligation",
            "harm_to_others",
            "contract_impossible",
        ]


def test_each_right_has_its_own_grounds(policy: Policy) -> None:
    access = policy.grounds_for("access")
    assert [(g.id, g.clause) for g in access] == [
        ("access_limited_by_law", "35-4-1"),
        ("access_harm_to_others", "35-4-2"),
    ]
    assert [(g.id, g.clause) for g in policy.grounds_for("delete")] == [("kept_by_law", "36-1")]
    assert {g.clause for g in policy.grounds_for("stop")} == {"37-2-1", "37-2-2", "37-2-4"}


def test_officer_is_kang_hyo_eun(policy: Policy) -> None:
    assert policy.officer.name == "강효은"
    assert policy.officer.email == "contact@casenote.kr"
    assert policy.officer.name_en == "Kang Hyo-eun"


def test_controller_is_casenote(policy: Policy) -> None:
    assert policy.controller.name.get("ko") == "주식회사 케이스노트"
    assert policy.controller.short_name.get("ko") == "회사"
    assert policy.controller.intro is not None
    assert "개인정보보호법" in policy.controller.intro.get("ko")


def test_destruction_uses_a_separate_db_and_irrecoverable_deletion(policy: Policy) -> None:
    destruction = policy.destruction
    assert destruction.separate_storage
    assert "별도의 DB" in destruction.procedure.get("ko")
    assert "재생할 수 없는" in destruction.method.get("ko")
    assert "separate DB" in destruction.procedure.get("en")
    assert "impossible to restore" in destruction.method.get("en")


def test_cookie_text_says_how_to_refuse_cookies(policy: Policy) -> None:
    assert "브라우저" in policy.cookies.get("ko")
    assert "거부" in policy.cookies.get("ko")
    assert "refuse" in policy.cookies.get("en")


def test_policy_is_korean_first_then_english_in_seoul(policy: Policy) -> None:
    assert policy.languages == ("ko", "en")
    assert policy.default_language == "ko"
    assert policy.timezone == "Asia/Seoul"


def _texts(policy: Policy) -> list[tuple[str, Text]]:
    found: list[tuple[str, Text]] = [
        ("controller.name", policy.controller.name),
        ("controller.short_name", policy.controller.short_name),
        ("destruction.procedure", policy.destruction.procedure),
        ("destruction.method", policy.destruction.method),
        ("cookies", policy.cookies),
    ]
    if policy.controller.intro is not None:
        found.append(("controller.intro", policy.controller.intro))
    if policy.officer.title is not None:
        found.append(("officer.title", policy.officer.title))
    for entries, fields in (
        (policy.items, ("label", "description")),
        (policy.purposes, ("label", "description", "statute")),
        (policy.retention, ("label", "statute", "article", "records")),
        (policy.recipients, ("name", "purpose", "retention")),
        (policy.refusal_grounds, ("text", "statute")),
    ):
        for entry in entries:
            for name in fields:
                value = getattr(entry, name)
                if value is not None:
                    found.append((f"{entry.id}.{name}", value))
    return found


def test_every_text_has_distinct_korean_and_english(policy: Policy) -> None:
    texts = _texts(policy)
    assert len(texts) > 60
    for where, text in texts:
        ko, en = text.values.get("ko", ""), text.values.get("en", "")
        assert ko.strip(), f"{where} has no Korean text"
        assert en.strip(), f"{where} has no English text"
        # A Korean text copied into the English slot would still pass the loader.
        assert not any("\uac00" <= ch <= "\ud7a3" for ch in en), f"{where} has Hangul in its English text"


def test_every_korean_label_is_in_korean(policy: Policy) -> None:
    for entry in (*policy.items, *policy.purposes, *policy.retention):
        assert any("\uac00" <= ch <= "\ud7a3" for ch in entry.label.get("ko")), entry.id
