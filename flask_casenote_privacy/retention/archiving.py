"""Moving records the law makes us keep into the archive database, encrypted per
subject, and reading back what is kept (class, statute, until when).

The order is what makes it safe: the subject's key is committed in the main
database, then the ciphertext in the archive, and only then may the host rows
be erased. Running it again after a crash adds nothing twice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text

from ..sources import DataSource, SourceRecord
from ..storage.archive_tables import archived_records
from ..storage.crypto import decrypt, encrypt, get_key, get_or_create_key, subject_ref
from ..storage.engines import as_utc
from ..storage.tables import access_log

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["archive_subject", "archived_summary", "read_archive", "retained_summary"]


def _associated(source: str, key: str, retention: str) -> bytes:
    return f"{source}\x1f{key}\x1f{retention}".encode()


def archive_subject(
    services: Services,
    subject: str,
    sources: Mapping[str, DataSource],
    request_id: str | None,
    *,
    identity: str | None = None,
) -> int:
    """Copy the records of host subject ``subject`` under a retention class into the
    archive, keyed by ``identity`` (default: ``subject``); return how many were added
    (0 on a re-run). Commits before returning."""
    kept = {name: src for name, src in sources.items() if src.retention is not None}
    records: list[tuple[str, DataSource, SourceRecord]] = [
        (name, src, record) for name, src in kept.items() for record in src.export(subject)
    ]
    if not records:
        return 0
    now = services.now()
    dbs = services.databases
    identity = identity or subject
    ref = subject_ref(services.hash_key, identity)
    with dbs.main.begin() as conn:
        key = get_or_create_key(conn, identity, now, ref)
    policy = services.policy
    with dbs.archive.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Partitioned (archive_0006), the unique key holds expires_at too: one member's
            # archiving at a time, so that a record is looked for and added once.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:ref, 0))"), {"ref": ref})
        existing = {
            (row[0], row[1])
            for row in conn.execute(
                select(archived_records.c.source, archived_records.c.record_key).where(
                    archived_records.c.subject_ref == ref
                )
            )
        }
        rows: list[dict[str, Any]] = []
        for name, src, record in records:
            if (name, record.key) in existing:
                continue
            retention = policy.retention_class(str(src.retention))
            occurred = record.occurred_at or now
            expires = services.expires_at(retention.id, occurred)
            assert expires is not None  # checked at registration: archived classes have a period
            payload = json.dumps(record.data, ensure_ascii=False, sort_keys=True).encode()
            nonce, ciphertext = _encrypt(key, name, record.key, retention.id, payload)
            rows.append(
                {
                    "subject_ref": ref,
                    "source": name,
                    "record_key": record.key,
                    "retention": retention.id,
                    "statute": retention.statute.get("ko"),
                    "occurred_at": occurred,
                    "expires_at": expires,
                    "archived_at": now,
                    "request_id": request_id,
                    "nonce": nonce,
                    "ciphertext": ciphertext,
                }
            )
        if rows:
            conn.execute(insert(archived_records), rows)
    return len(rows)


def _encrypt(key: bytes, source: str, record_key: str, retention: str, payload: bytes) -> tuple[bytes, bytes]:
    return encrypt(key, payload, _associated(source, record_key, retention))


def read_archive(services: Services, subject: str) -> list[dict[str, Any]]:
    """The subject's archived records, decrypted (for an access request)."""
    ref = subject_ref(services.hash_key, subject)
    with services.databases.main.connect() as conn:
        key = get_key(conn, subject)
    with services.databases.archive.connect() as conn:
        rows = (
            conn.execute(
                select(archived_records).where(archived_records.c.subject_ref == ref).order_by(archived_records.c.id)
            )
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        data = None
        if key is not None:
            plain = decrypt(
                key,
                bytes(row["nonce"]),
                bytes(row["ciphertext"]),
                _associated(row["source"], row["record_key"], row["retention"]),
            )
            data = json.loads(plain)
        out.append(
            {
                "source": row["source"],
                "retention": row["retention"],
                "statute": row["statute"],
                "occurred_at": _local(services, row["occurred_at"]),
                "until": _local(services, row["expires_at"]),
                "data": data,
            }
        )
    return out


def _local(services: Services, instant: datetime) -> str:
    return instant.astimezone(services.policy.tz).isoformat()


def archived_summary(services: Services, subject: str) -> list[dict[str, Any]]:
    """Per retention class: how many of the subject's records are archived, until when."""
    ref = subject_ref(services.hash_key, subject)
    with services.databases.archive.connect() as conn:
        rows = conn.execute(
            select(
                archived_records.c.retention,
                func.count().label("count"),
                func.max(archived_records.c.expires_at).label("until"),
            )
            .where(archived_records.c.subject_ref == ref)
            .group_by(archived_records.c.retention)
        ).all()
    return [_summary(services, r[0], r[1], r[2]) for r in rows]


def retained_summary(services: Services, subject: str) -> list[dict[str, Any]]:
    """What is still kept about a subject after a withdrawal, and why: archived
    records and the legal access log, each with its class, statute and end."""
    summary = archived_summary(services, subject)
    with services.databases.main.connect() as conn:
        logs = conn.execute(
            select(access_log.c.retention, func.count().label("count"), func.max(access_log.c.expires_at))
            .where(access_log.c.subject == subject)
            .group_by(access_log.c.retention)
        ).all()
    summary += [_summary(services, r[0], r[1], r[2]) for r in logs]
    by_class: dict[str, dict[str, Any]] = defaultdict(dict)
    for entry in summary:
        by_class[entry["retention"]] = entry
    order = [r.id for r in services.policy.retention]
    return sorted(by_class.values(), key=lambda e: order.index(e["retention"]) if e["retention"] in order else 99)


def _summary(services: Services, retention: str, count: int, until: Any) -> dict[str, Any]:
    until = as_utc(until)
    cls = services.policy.find_retention_class(retention)
    statute, label = (cls.statute.to_dict(), cls.label.to_dict()) if cls else ({}, {})
    return {
        "retention": retention,
        "until": _local(services, until) if until is not None else None,
        "count": int(count),
        "statute": statute,
        "label": label,
    }
