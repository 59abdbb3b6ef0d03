"""What the policy page and ``flask privacy policy show`` display, built from the policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import i18n
from .children import children_context
from .contents import Measure
from .model import Policy
from .render_contents import contents_context, kept_items

__all__ = ["policy_context", "template_variables"]


def policy_context(policy: Policy, lang: str, measures: tuple[Measure, ...] = ()) -> dict[str, Any]:
    """What ``privacy/policy.html`` and ``privacy/policy.txt`` show; each key reaches the
    template as ``privacy_<key>`` (:func:`template_variables`). ``measures`` are the
    safety measures the extension itself takes in this app (``contents.extension_measures``)."""

    def t(value: Any) -> str:
        return "" if value is None else value.get(lang, policy.default_language)

    def labels(item_ids: tuple[str, ...]) -> list[str]:
        return [t(policy.item(i).label) for i in item_ids]

    def join(words: list[str], particle: str = "") -> str:
        """ "이름과 이메일 주소를" / "name and email address"."""
        if not words:
            return ""
        if lang == "ko":
            # The seed's style: "이름과 이메일 주소를", but "IP 주소, 쿠키, 서비스 이용 기록, 기기정보가".
            if len(words) == 2:
                head = f"{words[0]}{i18n.josa(words[0], '과/와')} "
            else:
                head = "".join(f"{w}, " for w in words[:-1])
            last = words[-1]
            return head + last + (i18n.josa(last, particle) if particle else "")
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

    retention_of = {i: r for r in policy.retention for i in r.items}
    company = t(policy.controller.short_name)

    def not_stored(item_id: str) -> str:
        """Where an item the company does not keep goes: from the recipients, never a fixed phrase."""
        names = [t(r.name) for r in policy.recipients if item_id in r.items]
        if lang == "ko":
            keeps = f"{company}{i18n.josa(company, '은/는')} {i18n.ui('not_stored', lang)}"
        else:
            keeps = f"{i18n.ui('not_stored', lang)} {company}"
        return "; ".join([*names, keeps])

    kept = kept_items(policy, lang)
    items = [
        {
            "id": item.id,
            "label": t(item.label),
            "description": t(item.description),
            "collection": i18n.ui(f"collection.{item.collection}", lang)
            + ("" if item.stored else f" ({not_stored(item.id)})"),
            "required": item.required,
            "purposes": [t(p.label) for p in policy.purposes_using(item.id)],
            "retention": (i18n.period_label(retention_of[item.id].period, lang) if item.id in retention_of else ""),
        }
        for item in policy.items
    ]
    signup = [t(i.label) for i in policy.items if i.collection == "signup" and i.required]
    signup_optional = [t(i.label) for i in policy.items if i.collection == "signup" and not i.required]
    usage = [t(i.label) for i in policy.items if i.collection == "usage"]
    purposes = [
        {
            "id": p.id,
            "label": t(p.label),
            "description": t(p.description),
            "basis": i18n.basis_label(p.basis, lang),
            "statute": t(p.statute),
            "needs_consent": p.needs_consent,
            "honours_gpc": p.honours_gpc,
            "item_labels": ", ".join(labels(p.items)),
        }
        for p in policy.purposes
    ]
    recipients = [
        {
            "id": r.id,
            "name": t(r.name),
            "kind": i18n.kind_label(r.kind, lang),
            "relationship": r.relationship,
            "purpose": t(r.purpose),
            "item_labels": ", ".join(labels(r.items)),
            "retention": t(r.retention),
        }
        for r in policy.recipients
    ]
    retention = [
        {
            "id": r.id,
            "label": t(r.label),
            "statute": t(r.statute),
            "article": t(r.article),
            "period": i18n.period_label(r.period, lang),
            "records": t(r.records),
            "kept": kept[r.id],
            "until_withdrawal": r.until_withdrawal,
        }
        for r in policy.retention
    ]
    cookie_purposes = [c for c, p in zip(purposes, policy.purposes, strict=True) if "cookie" in p.items]
    officer = policy.officer
    return {
        "lang": lang,
        "other_lang": next((x for x in policy.languages if x != lang), None),
        "ui": lambda key: i18n.ui(key, lang),
        "policy": policy,
        "controller": {
            "name": t(policy.controller.name),
            "short": t(policy.controller.short_name),
            "intro": t(policy.controller.intro),
        },
        "company": t(policy.controller.short_name),
        "josa": i18n.josa,
        "items": items,
        "signup_items": join(signup, "을/를"),
        "signup_optional_items": join(signup_optional, "을/를"),
        "usage_items": join(usage, "이/가"),
        "purposes": purposes,
        "recipients": recipients,
        "retention": [r for r in retention if not r["until_withdrawal"]],
        "membership_retention": [r for r in retention if r["until_withdrawal"]],
        "destruction": {
            "procedure": t(policy.destruction.procedure),
            "method": t(policy.destruction.method),
            "separate_storage": policy.destruction.separate_storage,
        },
        # Section 6 lists each right's own grounds (PIPA §37②; §35④; §36① proviso).
        **{
            key: [{"id": g.id, "text": t(g.text), "statute": t(g.statute)} for g in policy.grounds_for(kind)]
            for key, kind in (
                ("refusal_grounds", "stop"),
                ("access_grounds", "access"),
                ("deletion_grounds", "delete"),
                ("correction_grounds", "correct"),
            )
        },
        "officer": {
            "name": officer.name if lang == "ko" or not officer.name_en else f"{officer.name_en} ({officer.name})",
            "email": officer.email,
            "phone": officer.phone,
            "title": t(officer.title),
        },
        "cookies": t(policy.cookies),
        "cookie_purposes": cookie_purposes,
        **contents_context(policy, lang, t, measures),
        "children": children_context(policy.children, lang, policy.default_language),
    }


def template_variables(context: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of a template of the extension, each under a ``privacy_`` name.

    A page renders inside the host's layout when the host overrides
    ``privacy/base.html``, and a variable passed to ``render_template`` hides the
    host's template global or context processor of the same name there: a bare
    ``csrf_token`` string made Flask-WTF's ``csrf_token()`` uncallable (a 500), and
    ``lang``, ``ui`` or ``policy`` would quietly replace the host's own.
    """
    return {f"privacy_{key}": value for key, value in context.items()}
