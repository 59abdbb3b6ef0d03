"""Loading and validating policy files: every problem reported at once, by file and by CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from flask_casenote_privacy.periods import Period
from flask_casenote_privacy.policy.loader import (
    PolicyError,
    available_presets,
    check_policy,
    load_policy,
    parse_policy,
)
from flask_casenote_privacy.policy.model import Policy

MINIMAL = """\
version = "2027-01-01"
effective_date = "2027-01-01"

[controller]
name = { ko = "주식회사 예시", en = "Example Inc." }

[officer]
name = "홍길동"
email = "privacy@example.com"

[[items]]
id = "email"
label = { ko = "이메일 주소", en = "Email address" }
collection = "signup"
required = true

[[purposes]]
id = "member_management"
label = { ko = "회원관리", en = "Member management" }
description = { ko = "회원 식별", en = "Identifying members" }
basis = "contract"
items = ["email"]

[[retention]]
id = "membership"
label = { ko = "회원 정보", en = "Membership data" }
period = "until withdrawal"
statute = { ko = "개인정보 보호법 제21조", en = "PIPA Art. 21" }
items = ["email"]

[destruction]
procedure = { ko = "별도의 DB로 옮긴 뒤 파기합니다.", en = "Moved to a separate DB, then destroyed." }
method = { ko = "재생할 수 없는 방법으로 삭제합니다.", en = "Deleted irrecoverably." }

[cookies]
text = { ko = "쿠키를 사용하지 않습니다.", en = "No cookies are used." }

[rights]
channels = { ko = "privacy@example.com으로 요구할 수 있습니다.", en = "Write to privacy@example.com." }
representative = { ko = "대리인도 같은 방법으로 요구할 수 있습니다.", en = "An agent can ask in the same ways." }

[department]
name = { ko = "개인정보보호팀", en = "Privacy team" }
phone = "02-0000-0000"

[safety]
measures = []
"""

# MINIMAL is a valid file, but the extension files access logs and provision
# records under two retention classes with a period: an app starts with this one.
STARTABLE = (
    MINIMAL
    + """
[[retention]]
id = "access_log"
label = { ko = "접속로그", en = "Access logs" }
period = "P3M"
statute = { ko = "통신비밀보호법", en = "Protection of Communications Secrets Act" }
records = { ko = "접속로그", en = "access logs" }

[[retention]]
id = "payment_record"
label = { ko = "대금결제 기록", en = "Payment records" }
period = "P5Y"
statute = { ko = "전자상거래법", en = "E-Commerce Act" }
records = { ko = "대금결제 기록", en = "payment records" }
"""
)

# One file, many independent mistakes; each must be reported by the same load.
BROKEN = """\
version = "2027-01-01"
timezone = "Asia/Seol"
retension = "P3M"

[controller]
name = { ko = "주식회사 예시", en = "Example Inc." }

[officer]
name = "홍길동"
email = "privacy-at-example.com"

[[items]]
id = "email"
label = { ko = "이메일 주소", en = "Email address" }
collection = "signup"

[[items]]
id = "email"
label = { ko = "이메일", en = "Email" }
collection = "signup"

[[items]]
id = "name"
label = { ko = "이름" }
collection = "signup"

[[items]]
id = "card_number"
label = { ko = "신용카드 번호", en = "Card number" }
collection = "payment"
stored = false

[[purposes]]
id = "member_management"
label = { ko = "회원관리", en = "Member management" }
description = { ko = "회원 식별", en = "Identifying members" }
basis = "contract"
items = ["email", "name", "phone_number"]

[[purposes]]
id = "marketing"
label = { ko = "마케팅", en = "Marketing" }
description = { ko = "광고", en = "Advertising" }
basis = "whim"
items = ["email"]

[[purposes]]
id = "security"
label = { ko = "보안", en = "Security" }
description = { ko = "보안", en = "Security" }
basis = "legal_obligation"
items = ["email"]
gpc = true

[[purposes]]
id = "operations"
lable = { ko = "운영", en = "Operations" }
description = { ko = "운영", en = "Operations" }
basis = "legitimate_interest"
items = ["name"]

[[retention]]
id = "membership"
label = { ko = "회원 정보", en = "Membership data" }
period = "until withdrawal"
statute = { ko = "개인정보 보호법 제21조", en = "PIPA Art. 21" }
items = ["email", "name"]

[[retention]]
id = "contract_record"
label = { ko = "계약 기록", en = "Contract records" }
period = "P5Y"
records = { ko = "계약 기록", en = "contract records" }

[[retention]]
id = "complaint_record"
label = { ko = "불만 기록", en = "Complaint records" }
statute = { ko = "전자상거래법", en = "E-Commerce Act" }
records = { ko = "불만 기록", en = "complaint records" }

[[retention]]
id = "access_log"
label = { ko = "접속로그", en = "Access logs" }
period = "three months"
statute = { ko = "통신비밀보호법", en = "Protection of Communications Secrets Act" }
records = { ko = "접속로그", en = "access logs" }

[[recipients]]
id = "nicepay"
name = { ko = "나이스페이먼츠 주식회사", en = "NICE Payments" }
kind = "sale"
purpose = { ko = "결제", en = "payment" }
items = ["card_number", "card_expiry"]

[destruction]
procedure = { ko = "별도의 DB로 옮긴 뒤 파기합니다.", en = "Moved to a separate DB, then destroyed." }
method = { ko = "재생할 수 없는 방법으로 삭제합니다.", en = "Deleted irrecoverably." }

[cookies]
text = { ko = "쿠키를 사용하지 않습니다.", en = "No cookies are used." }
"""

MISTAKES = {
    "unknown item in purpose": "purposes[0] (member_management).items: unknown item 'phone_number'",
    "retention class without statute": "retention[1] (contract_record): missing required key 'statute'",
    "retention class without period": "retention[2] (complaint_record): missing required key 'period'",
    "duplicate id": "items[1] (email): duplicate id 'email'",
    "bad iso duration": "retention[3] (access_log).period: 'three months' is not an ISO-8601 duration",
    "unknown basis": "purposes[1] (marketing).basis: 'whim' is not one of consent, contract",
    "recipient item not declared": "recipients[0] (nicepay).items: unknown item 'card_expiry'",
    "unknown recipient kind": "recipients[0] (nicepay).kind: 'sale' is not one of outsourcing, provision",
    "missing english text": "items[2] (name).label: missing the 'en' text",
    "bad officer email": "officer.email: 'privacy-at-example.com' is not valid (an email address)",
    "typo in a purpose key": "purposes[3] (operations): unknown key 'lable'",
    "typo in a top-level key": "policy: unknown key 'retension'",
    "gpc on a non-consent purpose": "purposes[2] (security).gpc: only a purpose whose basis is 'consent'",
    "bad timezone": "timezone: 'Asia/Seol' is not a known IANA time zone",
}


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text)
    return excinfo.value.problems


def has_problem(problems: list[str], expected: str) -> bool:
    return any(expected in problem for problem in problems)


@pytest.fixture(scope="module")
def broken_problems() -> list[str]:
    return problems_of(BROKEN)


# -- valid files -----------------------------------------------------------------


def test_bundled_casenote_preset_loads() -> None:
    policy = load_policy("casenote")
    assert isinstance(policy, Policy)
    assert policy.source == "preset 'casenote'"
    assert "casenote" in available_presets()


def test_minimal_policy_file_loads_from_a_path(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    policy = load_policy(path)
    assert policy.version == "2027-01-01"
    assert policy.languages == ("ko", "en")
    assert policy.timezone == "Asia/Seoul"
    assert policy.officer.email == "privacy@example.com"
    assert [i.id for i in policy.items] == ["email"]
    assert policy.retention_class("membership").until_withdrawal
    assert policy.source == str(path)
    assert load_policy(str(path)) == policy


def test_check_policy_returns_no_problems_for_valid_files(tmp_path: Path) -> None:
    assert check_policy(write(tmp_path, MINIMAL)) == []
    assert check_policy("casenote") == []


def test_plain_string_text_is_used_for_every_language() -> None:
    policy = parse_policy(MINIMAL.replace('{ ko = "회원관리", en = "Member management" }', '"Members"'))
    assert policy.purpose("member_management").label.to_dict() == {"ko": "Members", "en": "Members"}


def test_iso_period_is_parsed_into_a_period() -> None:
    text = MINIMAL.replace('period = "until withdrawal"', 'period = "P1Y6M"')
    retention = parse_policy(text).retention_class("membership")
    assert retention.period == Period(iso="P1Y6M", years=1, months=6)
    assert not retention.until_withdrawal


def test_toml_date_literal_is_accepted_as_effective_date() -> None:
    policy = parse_policy(MINIMAL.replace('effective_date = "2027-01-01"', "effective_date = 2027-01-01"))
    assert policy.effective_date == "2027-01-01"


def test_the_example_in_the_policy_file_docs_is_valid() -> None:
    doc = Path(__file__).parent.parent / "docs" / "policy-file.md"
    (example,) = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    policy = parse_policy(example)
    assert [r.id for r in policy.retention] == ["access_log", "payment_record", "membership"]


def test_the_example_in_the_policy_file_docs_passes_policy_check_under_the_default_configuration(
    runner: Any, tmp_path: Path
) -> None:
    # parse_policy alone passed it while `policy check` (and init_app) refused it:
    # the provision ledger's class, payment_record, was missing.
    doc = Path(__file__).parent.parent / "docs" / "policy-file.md"
    (example,) = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")

    result = runner.invoke(args=["privacy", "policy", "check", str(path)])

    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


# -- every mistake at once ---------------------------------------------------------


@pytest.mark.parametrize("expected", MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_is_reported_with_the_others(broken_problems: list[str], expected: str) -> None:
    assert has_problem(broken_problems, expected), "\n".join(broken_problems)


def test_unknown_item_in_purpose_is_reported_with_the_others(broken_problems: list[str]) -> None:
    problem = next(p for p in broken_problems if "'phone_number'" in p)
    # The message lists what is declared, so the typo is easy to spot.
    assert "declared: card_number, email, name" in problem


def test_every_mistake_is_in_one_error_and_its_message(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    with pytest.raises(PolicyError) as excinfo:
        load_policy(path)
    error = excinfo.value
    assert error.source == str(path)
    assert all(has_problem(error.problems, expected) for expected in MISTAKES.values())
    message = str(error)
    assert f"({len(error.problems)} problem(s))" in message
    for problem in error.problems:
        assert f"  - {problem}" in message
    assert check_policy(path) == error.problems


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


# -- single rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'basis = "contract"',
            'basis = "contract"\ngpc = "yes"',
            "purposes[0] (member_management).gpc: must be true or false",
        ),
        ('items = ["email"]\n\n[[retention]]', "items = []\n\n[[retention]]", "must name at least one item"),
        (
            'items = ["email"]\n\n[[retention]]',
            'items = ["email", "email"]\n\n[[retention]]',
            "names the same item twice",
        ),
        (
            'items = ["email"]\n\n[[retention]]',
            'items = "email"\n\n[[retention]]',
            "must be a list of item ids",
        ),
        ('collection = "signup"', 'collection = "always"', "'always' is not one of signup, usage, payment"),
        ("required = true", 'required = "yes"', "items[0] (email).required: must be true or false"),
        ('id = "email"', 'id = "Email"', "items[0] (Email).id: 'Email' is not valid (use lower_snake_case)"),
        ('period = "until withdrawal"', 'period = "P0M"', "is a zero duration"),
        ('period = "until withdrawal"', "period = 3", "'3' is not an ISO-8601 duration"),
        ('version = "2027-01-01"', "version = 1", "version: must be a non-empty string"),
        ('effective_date = "2027-01-01"', 'effective_date = "soon"', "effective_date: 'soon' is not a date"),
        ('version = "2027-01-01"', 'version = "1"\nlanguages = []', "languages: must be a non-empty list"),
        ('version = "2027-01-01"', 'version = "1"\ntimezone = 9', "timezone: must be an IANA time zone name"),
        ('name = "홍길동"', 'name = ""', "officer.name: must be a non-empty string"),
        ('name = "홍길동"\n', 'name = "홍길동"\nfax = "02"\n', "officer: unknown key 'fax'"),
        (
            'en = "Example Inc." }',
            'en = "Example Inc.", ja = "例" }',
            "controller.name: language 'ja' is not in the policy's languages",
        ),
        ('en = "Email address" }', 'en = "  " }', "items[0] (email).label: missing the 'en' text"),
        (
            'label = { ko = "이메일 주소", en = "Email address" }',
            "label = 3",
            "items[0] (email).label: must be a string or a table",
        ),
        ("[cookies]\ntext", "[cookies]\nbody", "cookies: missing required key 'text'"),
        ("[destruction]\nprocedure", "[destruction]\nsteps", "destruction: missing required key 'procedure'"),
    ],
    ids=[
        "gpc not a boolean",
        "purpose with no items",
        "purpose naming an item twice",
        "purpose items not a list",
        "unknown collection",
        "required not a boolean",
        "id not lower snake case",
        "zero period",
        "period not a string",
        "version not a string",
        "effective date not a date",
        "no languages",
        "timezone not a string",
        "empty officer name",
        "unknown officer key",
        "text in an undeclared language",
        "blank text",
        "text neither string nor table",
        "cookies without text",
        "destruction without procedure",
    ],
)
def test_single_mistake_is_reported_where_it_is(old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    problems = problems_of(MINIMAL.replace(old, new, 1))
    assert has_problem(problems, expected), "\n".join(problems)


def test_stored_item_without_retention_class_is_reported() -> None:
    text = MINIMAL.replace('items = ["email"]\n\n[destruction]', 'records = "회원 정보"\n\n[destruction]')
    problems = problems_of(text)
    assert has_problem(problems, "items (email): a stored item needs a retention class that lists it")


def test_item_not_stored_cannot_have_a_retention_class() -> None:
    problems = problems_of(MINIMAL.replace("required = true", "required = true\nstored = false"))
    assert has_problem(problems, "items (email): an item that is not stored cannot have a retention class")


def test_stored_item_no_purpose_uses_is_reported() -> None:
    extra = '[[items]]\nid = "phone"\nlabel = "전화번호"\ncollection = "signup"\n\n'
    text = MINIMAL.replace("[[purposes]]", extra + "[[purposes]]").replace(
        'items = ["email"]\n\n[destruction]', 'items = ["email", "phone"]\n\n[destruction]'
    )
    problems = problems_of(text)
    assert problems == ["items (phone): no purpose uses this item; personal data needs a purpose"]


def test_retention_class_must_say_what_it_covers() -> None:
    problems = problems_of(MINIMAL.replace('items = ["email"]\n\n[destruction]', "\n[destruction]"))
    assert has_problem(problems, "retention[0] (membership): must say what it covers: 'items', 'records' or both")


def test_sections_given_as_the_wrong_toml_type_are_reported() -> None:
    officer = '[officer]\nname = "홍길동"\nemail = "privacy@example.com"\n'
    assert officer in MINIMAL
    problems = problems_of('refusal_grounds = "none"\nofficer = "홍길동"\n' + MINIMAL.replace(officer, ""))
    assert has_problem(problems, "officer: must be a table, not str")
    assert has_problem(problems, "refusal_grounds: must be an array of tables ([[refusal_grounds]])")


def test_entry_without_an_id_is_reported_and_its_fields_still_checked() -> None:
    problems = problems_of(MINIMAL.replace('id = "email"\n', "", 1).replace(', en = "Email address"', "", 1))
    assert has_problem(problems, "items[0]: missing required key 'id'")
    assert has_problem(problems, "items[0].label: missing the 'en' text")


def test_non_string_id_is_reported_without_crashing() -> None:
    problems = problems_of(MINIMAL.replace('id = "email"', 'id = ["email"]', 1))
    assert has_problem(problems, "items[0].id: must be a non-empty string")


def test_missing_top_level_sections_are_all_reported() -> None:
    problems = problems_of('version = "1"\n')
    for key in ("controller", "officer", "items", "purposes", "retention", "destruction", "cookies"):
        assert has_problem(problems, f"policy: missing required key '{key}'")


# -- files that cannot even be read ---------------------------------------------------


def test_toml_syntax_error_is_one_problem_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('version = "2027-01-01"', 'version = "2027-01-01'))
    with pytest.raises(PolicyError) as excinfo:
        load_policy(path)
    (problem,) = excinfo.value.problems
    assert problem.startswith("not valid TOML:")
    assert "line 1" in problem


def test_missing_file_is_reported_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(PolicyError) as excinfo:
        load_policy(path)
    assert excinfo.value.source == str(path)
    assert excinfo.value.problems == ["cannot read the policy file: No such file or directory"]


def test_directory_is_reported_as_unreadable(tmp_path: Path) -> None:
    problems = check_policy(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("cannot read the policy file:")


def test_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(MINIMAL.encode("euc-kr"))
    (problem,) = check_policy(path)
    assert problem.startswith("the policy file is not UTF-8")


def test_unknown_preset_name_lists_the_bundled_presets() -> None:
    with pytest.raises(PolicyError) as excinfo:
        load_policy("casenotes")
    (problem,) = excinfo.value.problems
    assert "unknown preset 'casenotes'" in problem
    assert "bundled presets: casenote" in problem
    assert ".toml policy file" in problem


# -- flask privacy policy check / show ---------------------------------------------


def test_cli_check_lists_every_problem_and_exits_1(runner: Any, tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 1
    problems = check_policy(path)
    assert f"{path}: {len(problems)} problem(s)" in result.output
    for problem in problems:
        assert f"  - {problem}" in result.output
    for expected in MISTAKES.values():
        assert expected in result.output


def test_cli_check_reports_a_toml_syntax_error(runner: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "[officer\n")
    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 1
    assert "not valid TOML" in result.output


def test_cli_check_accepts_a_valid_file(runner: Any, tmp_path: Path) -> None:
    path = write(tmp_path, STARTABLE)
    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: valid (version 2027-01-01, 1 items, 1 purposes, 3 retention classes)" in result.output


def test_check_rejects_what_init_app_rejects_each_problem_once(runner: Any, tmp_path: Path, make_app: Any) -> None:
    # MINIMAL loads, but has neither retention class the extension files records
    # under: init_app refused it while `policy check` said "valid".
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 1, result.output
    capture = "PRIVACY_CAPTURE_RETENTION: 'access_log' is not a retention class of the policy"
    provision = "PRIVACY_PROVISION_RETENTION: 'payment_record' is not a retention class of the policy"
    assert f"{path}: 2 problem(s)" in result.output
    assert result.output.count(capture) == 1
    assert result.output.count(provision) == 1
    from flask_casenote_privacy import ConfigurationError

    with pytest.raises(ConfigurationError) as excinfo:
        make_app(upgrade=False, PRIVACY_POLICY=str(path))
    message = str(excinfo.value)
    assert excinfo.value.key == "PRIVACY_CAPTURE_RETENTION, PRIVACY_PROVISION_RETENTION"
    assert message.count(capture) == 1
    assert message.count(provision) == 1


def test_check_uses_the_apps_retention_keys(make_app: Any, tmp_path: Path) -> None:
    # A class without a period is refused for access logs by check as by init_app.
    app = make_app(upgrade=False)
    app.config["PRIVACY_CAPTURE_RETENTION"] = "membership"
    result = app.test_cli_runner().invoke(args=["privacy", "policy", "check"])
    assert result.exit_code == 1
    assert "PRIVACY_CAPTURE_RETENTION: retention class 'membership' has no period" in result.output


def test_cli_check_without_a_path_checks_the_configured_policy(runner: Any) -> None:
    result = runner.invoke(args=["privacy", "policy", "check"])
    assert result.exit_code == 0, result.output
    assert "casenote: valid" in result.output
    assert "11 items, 5 purposes, 6 retention classes" in result.output


def test_cli_show_json_is_the_policy_as_a_dict(runner: Any, privacy: Any, app: Any) -> None:
    result = runner.invoke(args=["privacy", "policy", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        expected = privacy.policy.to_dict()
    assert json.loads(result.output) == expected
    assert "강효은" in result.output  # not \\u-escaped


def test_cli_show_in_english_has_the_english_headings(runner: Any) -> None:
    result = runner.invoke(args=["privacy", "policy", "show", "--lang", "en"])
    assert result.exit_code == 0, result.output
    headings = [
        "1. Personal information collected",
        "2. Use of collected personal information",
        "3. Outsourcing of processing and provision to third parties",
        "4. Retention and use period",
        "5. Destruction procedure and method",
        "6. Users' rights and how to exercise them",
        "7. Privacy officer",
    ]
    positions = [result.output.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "Casenote Inc. Privacy Policy" in result.output
    assert "수집하는 개인정보" not in result.output


def test_cli_show_defaults_to_korean(runner: Any) -> None:
    result = runner.invoke(args=["privacy", "policy", "show"])
    assert result.exit_code == 0, result.output
    assert "1. 수집하는 개인정보" in result.output
    assert "7. 개인정보 보호책임자 안내" in result.output


def test_cli_show_rejects_an_unknown_language(runner: Any) -> None:
    result = runner.invoke(args=["privacy", "policy", "show", "--lang", "fr"])
    assert result.exit_code != 0
    assert "'fr'" in result.output
    assert "ko, en" in result.output
