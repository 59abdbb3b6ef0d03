"""Access requests (열람, PIPA Art. 35): everything held about one subject, as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..consent import consent_history
from ..retention.archiving import archived_summary, read_archive
from ..sources import json_safe
from ..storage.tables import access_log
from .audit import provision_history
from .requests import list_requests

if TYPE_CHECKING:
    from ..extension import Privacy

__all__ = ["export_subject"]


def export_subject(privacy: Privacy, subject: str) -> dict[str, Any]:
    """Registered sources, consent history, access-log entries, provisions, requests,
    and what is archived (class, statute, until) — with the archived data itself."""
    tz = privacy.policy.tz
    privacy.flush(timeout=30)  # events still on their way to the database are held too
    with privacy.databases.main.connect() as conn:
        logs = (
            conn.execute(select(access_log).where(access_log.c.subject == subject).order_by(access_log.c.id))
            .mappings()
            .all()
        )
    access = [
        {
            k: (v.astimezone(tz).isoformat() if k in ("occurred_at", "expires_at") and v is not None else json_safe(v))
            for k, v in row.items()
            if k not in ("id", "event_id") and v is not None
        }
        for row in logs
    ]
    return {
        "subject": subject,
        "generated_at": privacy.now().astimezone(tz).isoformat(),
        "policy_version": privacy.policy.version,
        "sources": {
            name: {
                "items": dict(source.items),
                "retention": source.retention,
                "records": [record.data for record in source.export(subject)],
            }
            for name, source in privacy.sources.items()
        },
        "consent_history": consent_history(privacy.databases.main, subject),
        "access_log": access,
        "provisions": provision_history(privacy, subject),
        "archived": archived_summary(privacy, subject),
        "archived_records": read_archive(privacy, subject),
        "requests": list_requests(privacy, subject),
    }
