"""What a policy-change notice says (``templates/privacy/mail/policy_change.txt``):
the new version's effective date, what changed, and which consents to give again.
Rendered when the mail is sent, from the notice row and the recorded versions."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import NotFound
from ..policy.diff import grouped
from ..services import Services
from ..storage.policy_history import diff_versions, find_version, list_versions, previous_of
from ..storage.tables import policy_notices
from .notifications import render_notification

__all__ = ["POLICY_CHANGE", "policy_change_notice"]

POLICY_CHANGE = "policy_change"  # the outbox kind


def policy_change_notice(services: Services, notice_id: str) -> tuple[str, str]:
    """(subject, body) of the notice of one ``privacy_policy_notice`` row."""
    with services.databases.main.connect() as conn:
        row = conn.execute(select(policy_notices).where(policy_notices.c.id == int(notice_id))).mappings().first()
    new = None if row is None else find_version(services.databases.main, row["version_id"])
    if row is None or new is None:
        raise NotFound(f"no policy-change notice {notice_id}")
    old = previous_of(list_versions(services.databases.main), new)
    diff = None if old is None else diff_versions(old, new)
    policy = services.policy
    labels = []
    for purpose_id in row["purposes"].split(","):
        purpose = policy.find_purpose(purpose_id)
        labels.append((purpose.label.get("ko"), purpose.label.get("en")) if purpose else (purpose_id, purpose_id))
    return render_notification(
        POLICY_CHANGE,
        controller_ko=policy.controller.name.get("ko"),
        controller_en=policy.controller.name.get("en"),
        officer=policy.officer,
        version=new.version,
        effective_date=new.effective_date.isoformat(),
        changes_ko=[] if diff is None else grouped(diff, "ko"),
        changes_en=[] if diff is None else grouped(diff, "en"),
        purposes_ko=", ".join(ko for ko, _ in labels),
        purposes_en=", ".join(en for _, en in labels),
        history_url=services.external_url("/policy/history"),
        consent_url=services.external_url("/consent"),
    )
