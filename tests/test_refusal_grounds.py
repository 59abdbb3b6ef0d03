"""Each right has its own refusal grounds (issue 13), on SQLite, PostgreSQL and MariaDB:
an access request only PIPA §35④'s, and may be limited to a part; a deletion is never
refused but keeps what another law names (§36① proviso) and says so; a processing
stop keeps §37②'s three. The policy file declares the grounds per kind and the loader
rejects a ground on the wrong kind; mails name the right that was exercised."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flask_casenote_privacy.errors import PolicyError
from flask_casenote_privacy.policy.loader import load_policy, parse_policy
from tests.member_site import PROBE_CARD_LAST4, PROBE_EMAIL, Site
from tests.test_officer import Desk, member_data, requests_in_db

PRESET = (Path(__file__).parents[1] / "flask_casenote_privacy" / "presets" / "casenote.toml").read_text("utf-8")
MEMBER = {"X-Test-Subject": "41"}


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


def options(html: str) -> list[str]:
    select = re.search(r'<select name="ground">(.*?)</select>', html, re.S)
    return re.findall(r'<option value="([^"]+)"', select.group(1)) if select else []


# -- the officer's form offers only the kind's grounds ---------------------------------------------
def test_the_refusal_form_offers_only_the_grounds_the_law_gives_the_requests_kind(site: Site, smtp: Any) -> None:
    desk = Desk(site)
    stop = desk.register(subject="41", kind="stop", purpose="statistics_advertising").get_json()
    access = desk.register(subject="41", kind="access").get_json()
    deletion = desk.register(subject="42", kind="delete").get_json()

    def page(req: dict[str, Any]) -> str:
        return str(desk.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True))

    assert options(page(stop)) == ["legal_obligation", "harm_to_others", "contract_impossible"]
    access_page = page(access)
    assert options(access_page) == ["access_limited_by_law", "access_harm_to_others"]
    assert 'name="withheld" value="source:payments"' in access_page  # a limit may cover one part
    deletion_page = page(deletion)
    assert options(deletion_page) == [] and 'id="refuse"' not in deletion_page
    assert 'id="no-deletion-refusal"' in deletion_page and "삭제 요구는 거절하지 않습니다" in deletion_page


def test_an_access_request_is_never_refused_on_a_processing_stop_ground(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="access").get_json()
    before = requests_in_db(site)
    answer = desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="contract_impossible", reason="")
    assert answer.status_code == 400
    message = answer.get_json()["message"]
    assert "'contract_impossible' is not one of the policy's grounds to refuse a access request" in message
    assert "access_limited_by_law, access_harm_to_others" in message and "reason" in message
    bad_part = desk.post(
        f"/privacy/officer/requests/{req['id']}/refuse", ground="access_harm_to_others", reason="x", withheld="nope"
    )
    assert bad_part.status_code == 400 and "'nope' is no item or source" in bad_part.get_json()["message"]
    assert requests_in_db(site) == before and outbox.messages == []


def test_an_access_request_limited_to_a_part_answers_the_rest_and_names_what_is_withheld(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="access").get_json()
    reason = "결제 기록에 다른 회원의 분쟁 정보가 함께 들어 있습니다."
    answer = desk.post(
        f"/privacy/officer/requests/{req['id']}/refuse",
        ground="access_harm_to_others",
        reason=reason,
        withheld="source:payments",
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["withheld"]) == ("completed", ["source:payments"])
    assert body["limitation"] == {"ground": "access_harm_to_others", "reason": reason}
    assert body["refusal"] is None  # answered, in part
    assert member_data(site) == (1, 1, 1)  # reading erases nothing

    (mail,) = outbox.wait(1)
    assert mail["to"] == [PROBE_EMAIL]
    assert "열람 제한" in mail["subject"] and "answered in part" in mail["subject"]
    text = mail["body"]
    assert "- payments" in text and "제35조 제4항 제2호" in text and reason in text
    assert "이의제기 방법" in text and f"/privacy/requests/{req['id']}" in text

    # The member's own export leaves the withheld part out; the officer still sees all of it.
    mine = site.app.test_client().get("/privacy/export", headers=MEMBER).get_json()
    assert "payments" not in mine["sources"] and mine["withheld"] == ["source:payments"]
    assert mine["sources"]["users"]["records"][0]["email"] == PROBE_EMAIL
    assert f"****{PROBE_CARD_LAST4}" not in str(mine)
    assert desk.get("/privacy/officer/subjects/41/export?reason=access+request").get_json()["sources"]["payments"][
        "records"
    ]
    html = desk.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True)
    assert 'id="request-limitation"' in html and "source:payments" in html


# -- deletion: kept by law, never refused -----------------------------------------------------------
def test_a_deletion_keeps_only_what_the_law_names_and_tells_the_member_what_why_and_until_when(
    site: Site, smtp: Any
) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="delete").get_json()
    refused = desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="kept_by_law", reason="x")
    assert refused.status_code == 400 and "a delete request is not refused" in refused.get_json()["message"]
    assert member_data(site) == (1, 1, 1)

    done = desk.post(f"/privacy/officer/requests/{req['id']}/complete").get_json()
    assert done["status"] == "completed"
    assert member_data(site) == (0, 0, 0)  # everything else deleted at once
    (kept,) = done["retained"]  # the payment, moved to the archive under 전자상거래법
    assert (kept["retention"], kept["count"]) == ("payment_record", 1)
    assert kept["until"].startswith("2031-11-30")

    (mail,) = outbox.wait(1)
    assert "삭제 처리 완료" in mail["subject"] and "deletion is done" in mail["subject"]
    assert "동의철회" not in mail["subject"]  # the right exercised is named, not another
    text = mail["body"]
    assert "제36조 제1항 단서" in text  # why it is kept
    assert "전자상거래 등에서 소비자 보호에 관한 법률" in text  # the law
    assert "2031-11-30" in text and "1건" in text  # until when, how many
    assert text.index("제36조") < text.index("-----") < text.index("Art. 36(1)")


def test_a_processing_stop_result_is_titled_processing_stop(site: Site, smtp: Any) -> None:
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="stop", scope="", purpose="statistics_advertising").get_json()
    assert desk.post(f"/privacy/officer/requests/{req['id']}/complete").get_json()["status"] == "completed"
    (mail,) = outbox.wait(1)
    assert "처리정지 처리 완료" in mail["subject"] and "processing stop is done" in mail["subject"]
    assert "동의철회" not in mail["subject"]


# -- the policy file ---------------------------------------------------------------------------------
def ground_block(ground_id: str, extra: str) -> str:
    return f'[[refusal_grounds]]\nid = "{ground_id}"\n{extra}text = {{ ko = "사유", en = "ground" }}\n'


def preset_with(grounds: str) -> str:
    start = PRESET.index("[[refusal_grounds]]")
    end = PRESET.index("# -- Rights and how to exercise them")
    return PRESET[:start] + grounds + "\n" + PRESET[end:]


def test_a_ground_on_the_wrong_kind_is_rejected_naming_the_clause() -> None:
    text = preset_with(
        ground_block("stop_on_access", 'kinds = ["access"]\nclause = "37-2-4"\n')
        + ground_block("delete_at_will", 'kinds = ["delete", "stop"]\nclause = "36-1"\n')
        + ground_block("no_clause", 'kinds = ["stop"]\n')
        + ground_block("bad_kind", 'kinds = ["forget"]\nclause = "35-4-9"\n')
    )
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text)
    problems = "\n".join(excinfo.value.problems)
    assert "PIPA Art. 37(2)4 is no ground to refuse a access request" in problems
    assert "PIPA Art. 36(1) proviso is no ground to refuse a stop request" in problems
    assert "give the clause the ground rests on" in problems
    assert "unknown kind(s) 'forget'" in problems and "clause '35-4-9' is not one of" in problems


def test_an_old_flat_ground_list_still_loads_for_stop_and_withdraw_and_policy_check_explains(
    tmp_path: Path, runner: Any
) -> None:
    old = preset_with(ground_block("legal_obligation", 'statute = { ko = "제37조 제2항 제1호", en = "37(2)1" }\n'))
    path = tmp_path / "old.toml"
    path.write_text(old, encoding="utf-8")
    policy = load_policy(path)
    assert [g.id for g in policy.grounds_for("stop")] == ["legal_obligation"]
    assert [g.id for g in policy.grounds_for("withdraw")] == ["legal_obligation"]
    assert policy.grounds_for("access") == () and policy.grounds_for("delete") == ()

    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 0 and "valid" in result.stdout
    assert "refusal_grounds (legal_obligation): no 'kinds' and 'clause'" in result.stderr
    assert "none for 'access'" in result.stderr
    current = runner.invoke(args=["privacy", "policy", "check"])
    assert current.exit_code == 0 and "warning" not in current.stderr  # the preset is per kind


def test_the_policy_page_lists_each_rights_grounds(site: Site) -> None:
    html = site.app.test_client().get("/privacy/policy").get_data(as_text=True)
    rights = html[html.index('<section id="rights">') : html.index('<section id="officer">')]
    assert 'id="access-grounds"' in rights and "법률에 따라 열람이 금지되거나 제한되는 경우" in rights
    assert 'id="deletion-grounds"' in rights and "삭제 요구는 거절하지 않습니다" in rights
    assert 'id="objection"' in rights
    english = site.app.test_client().get("/privacy/policy?lang=en").get_data(as_text=True)
    assert "A deletion request is not refused. Records are kept apart only on this ground" in english
    shown = site.app.test_cli_runner().invoke(args=["privacy", "policy", "show"]).stdout
    assert "[access_limited_by_law]" in shown and "[kept_by_law]" in shown and "[contract_impossible]" in shown


def test_a_correction_is_refused_only_where_another_law_sets_its_procedure(site: Site, smtp: Any) -> None:
    """PIPA §36②: a correction is made unless another law sets a special procedure for it."""
    _, _, outbox = smtp
    desk = Desk(site)
    req = desk.register(subject="41", kind="correct", items="name").get_json()
    page = desk.get(f"/privacy/officer/requests/{req['id']}", json=False).get_data(as_text=True)
    assert options(page) == ["correction_by_other_procedure"]
    before = requests_in_db(site)
    wrong = desk.post(f"/privacy/officer/requests/{req['id']}/refuse", ground="contract_impossible", reason="x")
    assert wrong.status_code == 400 and "correction_by_other_procedure" in wrong.get_json()["message"]
    assert requests_in_db(site) == before and outbox.messages == []

    reason = "가족관계등록부의 이름은 가족관계의 등록 등에 관한 법률의 절차로만 정정됩니다."
    refused = desk.post(
        f"/privacy/officer/requests/{req['id']}/refuse", ground="correction_by_other_procedure", reason=reason
    )
    assert refused.status_code in (200, 303), refused.get_data(as_text=True)
    site.privacy.services.mailer.flush()
    [mail] = outbox.messages
    assert "제36조 제2항" in mail["body"] and reason in mail["body"]


def test_the_policy_page_says_when_a_correction_may_be_refused(site: Site) -> None:
    client = site.app.test_client()
    ko = client.get("/privacy/policy").get_data(as_text=True)
    assert 'id="correction-grounds"' in ko and "개인정보 보호법 제36조 제2항" in ko
    en = client.get("/privacy/policy?lang=en").get_data(as_text=True)
    assert "except where another law sets a special procedure for correcting the information (PIPA Art. 36(2))." in en
