"""The diff between two texts of the policy (policy/diff.py), pure: items, purposes,
periods, recipients and any new section added or removed; what matters to members;
which consent-based purposes lapse; the readable ko/en text; stored versions back
into a Policy."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask_casenote_privacy.policy.diff import diff_policies, period_days, render_diff
from flask_casenote_privacy.policy.document import policy_from_document
from flask_casenote_privacy.policy.loader import load_policy

CONSENT_PURPOSES = ["service_improvement", "statistics_advertising"]


def base() -> dict[str, Any]:
    return load_policy("casenote").to_dict()


def entry(doc: dict[str, Any], section: str, entry_id: str) -> dict[str, Any]:
    return next(e for e in doc[section] if e["id"] == entry_id)


def test_identical_policies_have_no_changes_and_nothing_lapses() -> None:
    diff = diff_policies(base(), base())
    assert diff.empty and not diff.material and not diff.lapsing
    assert render_diff(diff, "ko") == "변경 없음"
    assert render_diff(diff, "en") == "No changes"


def test_a_longer_access_log_period_is_material_and_lapses_the_consents_that_use_its_items() -> None:
    old, new = base(), base()
    entry(new, "retention", "access_log")["period"] = "P6M"
    diff = diff_policies(old, new)
    [change] = diff.changes
    assert (change.section, change.entry, change.field, change.direction) == (
        "retention",
        "access_log",
        "period",
        "longer",
    )
    assert change.material and diff.material
    # both consent purposes use usage_record, device_info and cookie, which access_log keeps
    assert sorted(diff.lapsing) == CONSENT_PURPOSES
    assert diff.lapsing["statistics_advertising"] == ("retention:access_log",)
    assert "3개월 → 6개월 (연장) [!]" in render_diff(diff, "ko")
    assert "3 months → 6 months (lengthened) [!]" in render_diff(diff, "en")


def test_a_shorter_period_is_listed_but_neither_material_nor_a_lapse() -> None:
    old, new = base(), base()
    entry(new, "retention", "access_log")["period"] = "P1M"
    diff = diff_policies(old, new)
    assert [c.direction for c in diff.changes] == ["shorter"]
    assert not diff.material and not diff.lapsing


def test_an_item_added_to_a_consent_purpose_lapses_it_and_a_removed_item_does_not() -> None:
    old, new = base(), base()
    entry(new, "purposes", "statistics_advertising")["items"].append("email")
    entry(new, "purposes", "service_improvement")["items"].remove("cookie")
    diff = diff_policies(old, new)
    by_entry = {c.entry: c for c in diff.changes}
    assert by_entry["statistics_advertising"].added == ("email",) and by_entry["statistics_advertising"].material
    assert by_entry["service_improvement"].removed == ("cookie",) and not by_entry["service_improvement"].material
    assert diff.lapsing == {"statistics_advertising": ("items",)}


def test_a_new_provision_recipient_lapses_the_purposes_sharing_its_items_and_outsourcing_does_not() -> None:
    old, new = base(), base()
    adnet = {
        "id": "adnet",
        "name": {"ko": "애드넷", "en": "AdNet"},
        "kind": "provision",
        "purpose": {"ko": "맞춤형 광고", "en": "targeted ads"},
        "items": ["cookie"],
        "retention": None,
    }
    new["recipients"].append(adnet)
    diff = diff_policies(old, new)
    assert [(c.section, c.kind, c.entry, c.material) for c in diff.changes] == [("recipients", "added", "adnet", True)]
    assert sorted(diff.lapsing) == CONSENT_PURPOSES
    assert "추가: 애드넷 (adnet) [!]" in render_diff(diff, "ko")
    assert "added: AdNet (adnet) [!]" in render_diff(diff, "en")

    outsourced = copy.deepcopy(old)
    outsourced["recipients"].append({**adnet, "kind": "outsourcing"})
    diff = diff_policies(old, outsourced)
    assert diff.material and not diff.lapsing  # told, but 위탁 needs no consent (PIPA §26)


def test_removed_entries_and_a_changed_scalar_are_listed() -> None:
    old, new = base(), base()
    new["purposes"] = [p for p in new["purposes"] if p["id"] != "security"]
    new["officer"]["email"] = "privacy@casenote.kr"
    new["version"] = "2027-01-01"
    diff = diff_policies(old, new)
    kinds = {(c.section, c.kind, c.entry or c.field) for c in diff.changes}
    assert ("purposes", "removed", "security") in kinds
    assert ("general", "changed", "officer") in kinds
    assert ("general", "changed", "version") in kinds
    assert not diff.material


def test_a_section_the_diff_has_never_heard_of_is_compared_entry_by_entry() -> None:
    old, new = base(), base()
    old["processors"] = [{"id": "aws", "name": {"ko": "AWS", "en": "AWS"}, "items": ["email"]}]
    new["processors"] = [
        {"id": "aws", "name": {"ko": "AWS", "en": "AWS"}, "items": ["email", "name"]},
        {"id": "mailgun", "name": {"ko": "메일건", "en": "Mailgun"}, "items": ["email"]},
    ]
    diff = diff_policies(old, new)
    changes = {(c.kind, c.entry): c for c in diff.changes if c.section == "processors"}
    assert changes[("changed", "aws")].added == ("name",) and changes[("changed", "aws")].material
    assert changes[("added", "mailgun")].material
    assert "개인정보 처리 위탁" in render_diff(diff, "ko")
    assert json.loads(json.dumps(diff.to_dict()))["changes"][0]["section"] == "processors"


def test_until_withdrawal_is_longer_than_any_period() -> None:
    assert period_days(None) > period_days("P100Y") > period_days("P5Y") > period_days("P6M") > period_days("P3M")


def test_a_stored_document_reads_back_into_the_same_policy() -> None:
    policy = load_policy("casenote")
    stored = json.loads(json.dumps(policy.to_dict(), sort_keys=True, ensure_ascii=False))
    assert policy_from_document(stored).digest == policy.digest


def test_a_version_recorded_before_the_mandatory_sections_still_reads_back() -> None:
    """A version stored by an earlier release (no rights, department, safety, effective
    date, refusal consequences or per-kind grounds) is still shown in the history."""
    from flask_casenote_privacy.policy.render import policy_context

    stored = json.loads(json.dumps(load_policy("casenote").to_dict(), ensure_ascii=False))
    for key in ("effective_date", "rights", "department", "safety", "remedies", "children"):
        stored.pop(key, None)
    for purpose in stored["purposes"]:
        purpose.pop("refusal_consequence", None)
    for ground in stored["refusal_grounds"]:
        ground.pop("kinds", None)
        ground.pop("clause", None)
    old = policy_from_document(stored)
    assert old.rights is None and old.department is None
    context = policy_context(old, "ko", ())
    assert context  # the page's variables can be built for it
