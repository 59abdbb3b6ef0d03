"""What the policy page shows of the mandatory contents (policy/contents.py), and what
the consent form tells about each optional purpose (PIPA §15②, §22①)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import i18n
from .contents import DEFAULT_REMEDIES, Measure
from .model import Policy, Purpose

__all__ = ["consent_details", "contents_context"]

RIGHTS = ("access", "correction", "stop", "withdraw")


def contents_context(
    policy: Policy, lang: str, t: Callable[[Any], str], measures: tuple[Measure, ...]
) -> dict[str, Any]:
    """The page blocks of sections 3 (split by relationship), 6, 9-12."""
    rights, department, safety = policy.rights, policy.department, policy.safety
    recipients = [
        {
            "id": r.id,
            "name": t(r.name),
            "purpose": t(r.purpose),
            "relationship": r.relationship,
            "item_labels": ", ".join(t(policy.item(i).label) for i in r.items),
            "retention": t(r.retention),
            "overseas": None
            if r.overseas is None
            else {"country": t(r.overseas.country), "method": t(r.overseas.method)},
        }
        for r in policy.recipients
    ]
    return {
        "entrusted": [r for r in recipients if r["relationship"] == "entrustment"],
        "provided": [r for r in recipients if r["relationship"] == "provision"],
        "overseas": [r for r in recipients if r["overseas"]],
        "rights": {
            "list": [i18n.ui(f"right.{key}", lang) for key in RIGHTS],
            "channels": t(rights.channels) if rights else "",
            "representative": t(rights.representative) if rights else "",
        },
        "department": None
        if department is None
        else {"name": t(department.name), "phone": department.phone, "email": department.email},
        "safety": [_measure(m, lang) for m in measures] + [t(m) for m in (safety.measures if safety else ())],
        "remedies": [
            {"id": r.id, "name": t(r.name), "phone": r.phone, "url": r.url}
            for r in (policy.remedies or DEFAULT_REMEDIES)
        ],
        "effective_sentence": i18n.ui("effective_sentence", lang).format(date=policy.effective_date)
        if policy.effective_date
        else "",
    }


def _measure(measure: Measure, lang: str) -> str:
    text = i18n.ui(f"measure.{measure.key}", lang)
    return text.format(period=i18n.period_label(measure.period, lang)) if measure.period else text


def kept_items(policy: Policy, lang: str) -> dict[str, str]:
    """What each retention class keeps (보존 항목, PIPA §30①3의2): item labels and records."""
    fallback = policy.default_language
    kept = {}
    for r in policy.retention:
        parts = [policy.item(i).label.get(lang, fallback) for i in r.items]
        if r.records is not None and not r.items:
            parts.append(r.records.get(lang, fallback))
        kept[r.id] = ", ".join(parts)
    return kept


def consent_details(policy: Policy, purpose: Purpose, lang: str) -> dict[str, str]:
    """What the consent form tells about one optional purpose: items, period, the right
    to refuse and what refusing means (PIPA §15②1-4)."""
    fallback = policy.default_language
    classes = []
    for r in policy.retention:
        if any(i in r.items for i in purpose.items):
            classes.append(f"{r.label.get(lang, fallback)} {i18n.period_label(r.period, lang)}")
    consequence = purpose.refusal_consequence
    return {
        "purpose": purpose.description.get(lang, fallback),
        "item_labels": ", ".join(policy.item(i).label.get(lang, fallback) for i in purpose.items),
        "period": i18n.ui("consent.until_withdrawn", lang).format(classes="; ".join(classes) or "-"),
        "right_to_refuse": i18n.ui("consent.right_to_refuse", lang),
        "refusal_consequence": consequence.get(lang, fallback) if consequence else "",
    }
