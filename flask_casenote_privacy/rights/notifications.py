"""Notices to members about their requests (Korean text with English below): which
template, with which words, sent through the app's mailer.

Templates live in ``templates/privacy/mail/<kind>.txt``; the first line is the
subject. The mail is rendered without a request, so the host's context
processors (which may look at a member being erased) never run for it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..policy.i18n import ui
from ..services import Services
from .records import objections_of

__all__ = ["completed_notice", "link_notice", "render_notification", "request_notice"]

#: The result notice of each kind: the mail names the right that was exercised.
COMPLETED = {
    "withdraw": "withdrawal_completed",
    "stop": "stop_completed",
    "delete": "deletion_completed",
    "access": "access_ready",
}


def completed_notice(kind: str) -> str:
    """Which notice tells the member that a request of ``kind`` was carried out."""
    return COMPLETED.get(kind, "withdrawal_completed")


def render_notification(kind: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of a notification from ``privacy/mail/<kind>.txt``."""
    text = current_app.jinja_env.get_template(f"privacy/mail/{kind}.txt").render(**context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n"


def request_notice(services: Services, kind: str, row: dict[str, Any], view: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of the notice ``kind`` about one request (``row`` as stored,
    ``view`` as shown)."""
    return render_notification(kind, **_context(services, row, view))


def link_notice(services: Services, subject: str) -> tuple[str, str]:
    """(subject, body) of a withdrawal-link mail; the single-use token is made now,
    when the mail is sent, so it never waits anywhere at rest."""
    policy = services.policy
    return render_notification(
        "withdraw_link",
        link=services.external_url(f"/withdraw/confirm/{services.withdraw_tokens.make(subject)}"),
        hours=services.settings.token_max_age // 3600,
        controller_ko=policy.controller.name.get("ko"),
        controller_en=policy.controller.name.get("en"),
    )


def _context(services: Services, row: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    policy = services.policy
    ko, en = ui(f"kind.{row['kind']}", "ko"), ui(f"kind.{row['kind']}", "en")  # the words of the pages
    if row["scope"] == "all":
        scope_ko, scope_en = "회원탈퇴", "leaving membership"
    elif row["scope"] == "items":
        # An item the policy no longer has (changed since) is named by its id.
        items = [(i, next((x for x in policy.items if x.id == i), None)) for i in view["items"]]
        scope_ko = ", ".join(item.label.get("ko") if item else i for i, item in items)
        scope_en = ", ".join(item.label.get("en") if item else i for i, item in items)
    else:
        labels = [policy.purpose(p).label for p in view["purposes"]]
        scope_ko = ", ".join(label.get("ko") for label in labels)
        scope_en = ", ".join(label.get("en") for label in labels)
    ground = policy.refusal_ground(row["refusal_ground"]) if row["refusal_ground"] else None
    return {
        "request_id": row["id"],
        "controller_ko": policy.controller.name.get("ko"),
        "controller_en": policy.controller.name.get("en"),
        "officer": policy.officer,
        "received_local": view["received_at"],
        "scope_ko": scope_ko,
        "scope_en": scope_en,
        "kind_ko": ko,
        "kind_en": en,
        "retained": view["retained"],
        "ground": ground.text.to_dict() if ground else {},
        "statute_ko": ground.statute.get("ko") if ground and ground.statute else "",
        "statute_en": ground.statute.get("en") if ground and ground.statute else "",
        "reason": row["refusal_reason"],
        "export_url": services.external_url("/export"),
        "request_url": services.external_url(f"/requests/{row['id']}"),
        "request_kind": row["kind"],
        "view": view,
        **_rights_context(services, view),
    }


def _rights_context(services: Services, view: dict[str, Any]) -> dict[str, Any]:
    """What the notices of postponement, limitation, objection and deletion say."""
    policy = services.policy
    labels = {i.id: i.label.to_dict() for i in policy.items}
    withheld = [
        labels.get(part) or {"ko": part.removeprefix("source:"), "en": part.removeprefix("source:")}
        for part in view.get("withheld") or []
    ]
    kept_grounds = policy.grounds_for("delete")
    objections = view.get("objections")
    if objections is None:
        objections = objections_of(services, view["id"])
    return {
        "withheld": withheld,
        "kept_ground": kept_grounds[0].text.to_dict() if kept_grounds else {},
        "kept_statute": kept_grounds[0].statute.to_dict() if kept_grounds and kept_grounds[0].statute else {},
        "postponement": view.get("postponement"),
        "objection": objections[-1] if objections else None,
    }
