"""Crypto-shredding and tombstones: a subject's key is destroyed once none of their
archived records remains, and a keyed hash of every destroyed key and withdrawn
member is kept so that a restored backup cannot bring them back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from . import archive as archive_db
from .crypto import subject_ref
from .destruction import INTERNAL_CLASSES, PurgeReport, statute_of, write_ledger
from .store import requests, subject_keys, tombstones

if TYPE_CHECKING:
    from .extension import Privacy

__all__ = ["add_subject_tombstone", "reapply_tombstones", "shred_keys"]


def shred_keys(privacy: Privacy, report: PurgeReport, now: datetime, executor: str, dry_run: bool) -> None:
    """Destroy the key of every subject none of whose archived records remains."""
    dbs = privacy.databases
    hash_key = privacy.hash_key
    with dbs.main.connect() as conn:
        keys = conn.execute(select(subject_keys.c.subject)).scalars().all()
        busy = set(
            conn.execute(
                select(requests.c.subject).where(requests.c.status == "registered", requests.c.scope == "all")
            ).scalars()
        )
    refs = {subject: subject_ref(hash_key, subject) for subject in keys if subject not in busy}
    if not refs:
        return
    with dbs.archive.connect() as conn:
        alive: set[str] = set()
        values = list(refs.values())
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            alive |= set(
                conn.execute(
                    select(archive_db.archived_records.c.subject_ref)
                    .where(archive_db.archived_records.c.subject_ref.in_(chunk))
                    .distinct()
                ).scalars()
            )
    doomed = [subject for subject, ref in refs.items() if ref not in alive]
    entry = report.cls("subject_key", INTERNAL_CLASSES["subject_key"])
    entry.targets.add("subject_keys")
    if dry_run:
        entry.destroyed += len(doomed)
        return
    method = "crypto-shredding: per-subject AES-256 key deleted; archived ciphertext unreadable in every copy"
    for start in range(0, len(doomed), 500):
        chunk = doomed[start : start + 500]
        with dbs.main.begin() as conn:
            count = conn.execute(delete(subject_keys).where(subject_keys.c.subject.in_(chunk))).rowcount or 0
            _add_tombstones(conn, [refs[s] for s in chunk], "key", privacy.now())
            if count:
                write_ledger(conn, privacy, report, "subject_key", "subject_keys", count, method, executor)
        entry.destroyed += count


def _add_tombstones(conn: Connection, refs: list[str], kind: str, at: datetime) -> None:
    existing = set(conn.execute(select(tombstones.c.ref).where(tombstones.c.ref.in_(refs))).scalars())
    fresh = [{"ref": r, "kind": kind, "destroyed_at": at} for r in dict.fromkeys(refs) if r not in existing]
    if fresh:
        conn.execute(insert(tombstones), fresh)


def add_subject_tombstone(privacy: Privacy, subject: str) -> None:
    """Remember (as a keyed hash) that a member's data was destroyed."""
    with privacy.databases.main.begin() as conn:
        _add_tombstones(conn, [subject_ref(privacy.hash_key, subject)], "subject", privacy.now())


def reapply_tombstones(privacy: Privacy, report: PurgeReport, executor: str, wanted: set[str] | None) -> None:
    """A restored backup must not resurrect what was destroyed: keys, their archived
    ciphertext, and withdrawn members' rows in the host's sources."""
    dbs = privacy.databases
    hash_key = privacy.hash_key
    with dbs.main.connect() as conn:
        dead = {row[0]: row[1] for row in conn.execute(select(tombstones.c.ref, tombstones.c.kind))}
        keys = conn.execute(select(subject_keys.c.subject)).scalars().all()
    if not dead:
        return
    method = "re-applied after a restore (tombstone)"
    revived = [s for s in keys if subject_ref(hash_key, s) in dead]
    if revived and (wanted is None or "subject_key" in wanted):
        with dbs.main.begin() as conn:
            count = conn.execute(delete(subject_keys).where(subject_keys.c.subject.in_(revived))).rowcount or 0
            if count:
                write_ledger(conn, privacy, report, "subject_key", "subject_keys", count, method, executor)
        report.cls("subject_key", INTERNAL_CLASSES["subject_key"]).destroyed += count
    key_refs = [ref for ref, kind in dead.items() if kind == "key"]
    records = archive_db.archived_records
    for start in range(0, len(key_refs), 500):
        chunk = key_refs[start : start + 500]
        with dbs.archive.begin() as conn:
            rows = conn.execute(
                select(records.c.retention, func.count())
                .where(records.c.subject_ref.in_(chunk))
                .group_by(records.c.retention)
            ).all()
            for retention, _ in rows:
                if wanted is not None and retention not in wanted:
                    continue
                count = (
                    conn.execute(
                        delete(records).where(records.c.subject_ref.in_(chunk), records.c.retention == retention)
                    ).rowcount
                    or 0
                )
                if count:
                    write_ledger(conn, privacy, report, retention, "archived_records", count, method, executor)
                    report.cls(retention, statute_of(privacy, retention)).destroyed += count
    subject_refs = {ref for ref, kind in dead.items() if kind == "subject"}
    if subject_refs and (wanted is None or "membership" in wanted):
        for source in privacy.sources.values():
            subjects = getattr(source, "subjects", None)
            if subjects is None or source.retention is not None:
                continue
            for subject in subjects():
                if subject_ref(hash_key, subject) in subject_refs:
                    count = source.erase(subject)
                    if count:
                        with dbs.main.begin() as conn:
                            write_ledger(
                                conn,
                                privacy,
                                report,
                                "membership",
                                "host:" + type(source).__name__,
                                count,
                                method,
                                executor,
                            )
                        report.cls("membership", statute_of(privacy, "membership")).destroyed += count
