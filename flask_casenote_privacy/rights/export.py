"""Access requests (열람, PIPA Art. 35): everything held about one subject, as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select

from ..consent import consent_history
from ..retention.archiving import archived_summary, read_archive
from ..sources import json_safe
from ..storage.tables import access_log, consent_events, provisions
from .guardians import guardian_consents_of
from .provisions import provision_history
from .records import list_requests

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["export_subject", "holds_anything"]


def export_subject(services: Services, subject: str) -> dict[str, Any]:
    """Registered sources, consent history, a legal representative's consent,
    access-log entries, provisions, requests, and what is archived (class, statute,
    until) — with the archived data itself."""
    # ``subject`` is an identity: the host's sources know it by the host's id.
    host = services.host_of(subject)
    tz = services.policy.tz
    services.flush(timeout=30)  # events still on their way to the database are held too
    with services.databases.main.connect() as conn:
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
        "generated_at": services.now().astimezone(tz).isoformat(),
        "policy_version": services.policy.version,
        "sources": {
            name: {
                "items": dict(source.items),
                "retention": source.retention,
                "records": [record.data for record in source.export(host)],
            }
            for name, source in services.sources.items()
        },
        "consent_history": consent_history(services.databases.main, subject),
        # A legal representative's consent (PIPA §22-2), their name and contact masked.
        "guardian_consents": guardian_consents_of(services, subject),
        "access_log": access,
        "provisions": provision_history(services, subject),
        "archived": archived_summary(services, subject),
        "archived_records": read_archive(services, subject),
        "requests": list_requests(services, subject),
    }


def holds_anything(services: Services, identity: str) -> bool:
    """Whether anything is held about ``identity``: a record in a registered source,
    a consent decision, an access-log row or a provision. False for an id nobody
    has (an officer's typing mistake): the request is still recorded, and says so."""
    host = services.host_of(identity)
    if any(source.export(host) for source in services.sources.values()):
        return True
    services.flush(timeout=30)  # the subject's access events on their way count too
    with services.databases.main.connect() as conn:
        return any(
            conn.execute(select(exists().where(table.c.subject == identity))).scalar()
            for table in (consent_events, access_log, provisions)
        )
