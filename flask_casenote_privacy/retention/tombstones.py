"""Crypto-shredding and tombstones: a subject's key is destroyed once none of their
archived records remains, and a keyed hash of every destroyed key and withdrawn
member is kept so that a restored backup cannot bring them back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, not_, select, update
from sqlalchemy.engine import Connection

from ..errors import ConfigurationError
from ..sources import SourceRecord
from ..storage import archive_tables as archive_db
from ..storage.crypto import subject_ref
from ..storage.tables import requests, subject_keys, tombstones
from .ledger import INTERNAL_CLASSES, statute_of, write_ledger
from .report import PurgeReport

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["RESTORED", "add_subject_tombstone", "read_tombstones", "reapply_tombstones", "record_digest", "shred_keys"]

# The ledger's method for whatever a tombstone destroys again after a restore.
RESTORED = "re-applied after a restore (tombstone)"


def shred_keys(
    services: Services,
    report: PurgeReport,
    now: datetime,
    dry_run: bool,
    wanted: set[str] | None = None,
) -> None:
    """Destroy the key of every subject none of whose archived records remains.

    A dry run destroyed no archived record, so it counts as gone those the real
    run would have destroyed (past ``now``, in a ``wanted`` class): same figures."""
    dbs = services.databases
    hash_key = services.hash_key
    with dbs.main.connect() as conn:
        stored = conn.execute(select(subject_keys.c.subject, subject_keys.c.ref)).all()
        keys = [row[0] for row in stored]
        changed = [row[0] for row in stored if row[1] is not None and row[1] != subject_ref(hash_key, row[0])]
        if changed:
            # With another hash key no archived record would match its key: shredding now
            # would destroy keys of records the law still makes us keep. Refuse.
            raise ConfigurationError(
                "PRIVACY_HASH_KEY",
                f"differs from the key the archive was written with ({len(changed)} subject key(s) do not match); "
                "restore the previous PRIVACY_HASH_KEY (or SECRET_KEY, if PRIVACY_HASH_KEY was never set) "
                "before purging",
            )
        busy = set(
            conn.execute(
                select(requests.c.subject).where(requests.c.status == "registered", requests.c.scope == "all")
            ).scalars()
        )
    refs = {subject: subject_ref(hash_key, subject) for subject in keys if subject not in busy}
    if not refs:
        return
    records = archive_db.archived_records
    with dbs.archive.connect() as conn:
        alive: set[str] = set()
        values = list(refs.values())
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            query = select(records.c.subject_ref).where(records.c.subject_ref.in_(chunk)).distinct()
            if dry_run:
                doomed_now = records.c.expires_at <= now
                if wanted is not None:
                    doomed_now = and_(doomed_now, records.c.retention.in_(sorted(wanted)))
                query = query.where(not_(doomed_now))
            alive |= set(conn.execute(query).scalars())
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
            if count:  # else a concurrent purge deleted them, and wrote their tombstones
                _add_tombstones(conn, [refs[s] for s in chunk], "key", services.now())
                write_ledger(conn, services, report.run, "subject_key", "subject_keys", count, method)
        entry.destroyed += count


def _kinds(value: str) -> set[str]:
    """A tombstone's kinds: one ref can be a withdrawn subject and, later, a destroyed key."""
    return {k for k in value.split(",") if k}


def _add_tombstones(conn: Connection, refs: list[str], kind: str, at: datetime) -> None:
    existing = {
        row[0]: _kinds(row[1])
        for row in conn.execute(select(tombstones.c.ref, tombstones.c.kind).where(tombstones.c.ref.in_(refs)))
    }
    fresh = [{"ref": r, "kind": kind, "destroyed_at": at} for r in dict.fromkeys(refs) if r not in existing]
    if fresh:
        conn.execute(insert(tombstones), fresh)
    for ref, kinds in existing.items():
        if kind not in kinds:
            conn.execute(
                update(tombstones).where(tombstones.c.ref == ref).values(kind=",".join(sorted(kinds | {kind})))
            )


def record_digest(hash_key: bytes, source: str, record: SourceRecord) -> str:
    """A keyed hash of one host record, content included: a restored copy of the
    record matches it; a new member who happens to get a reused id does not."""
    content = json.dumps(record.data, sort_keys=True, ensure_ascii=False, default=str)
    return subject_ref(hash_key, f"{source}\x1f{record.key}\x1f{content}")


def add_subject_tombstone(
    services: Services, subject: str, records: dict[str, list[SourceRecord]] | None = None
) -> None:
    """Remember (as keyed hashes) that a member's data was destroyed: the subject, and
    each of their host records, so that only restored copies are ever erased again."""
    now = services.now()
    digests = [record_digest(services.hash_key, name, r) for name, rs in (records or {}).items() for r in rs]
    with services.databases.main.begin() as conn:
        _add_tombstones(conn, [subject_ref(services.hash_key, subject)], "subject", now)
        for start in range(0, len(digests), 500):
            _add_tombstones(conn, digests[start : start + 500], "record", now)


def read_tombstones(services: Services) -> dict[str, set[str]]:
    """Every tombstone: keyed hash -> its kinds ("subject", "record", "key")."""
    with services.databases.main.connect() as conn:
        return {row[0]: _kinds(row[1]) for row in conn.execute(select(tombstones.c.ref, tombstones.c.kind))}


def reapply_tombstones(
    services: Services, report: PurgeReport, wanted: set[str] | None, dead: dict[str, set[str]]
) -> None:
    """A restored backup must not resurrect what was destroyed: destroyed keys and
    their archived ciphertext (``dead``: :func:`read_tombstones`). Withdrawn members'
    rows in the host's sources are erased again by ``erasure.erase_restored``."""
    if not dead:
        return
    dbs = services.databases
    hash_key = services.hash_key
    with dbs.main.connect() as conn:
        keys = conn.execute(select(subject_keys.c.subject)).scalars().all()
    # Only a destroyed key comes back destroyed: a withdrawn member's key must keep
    # their archived records readable until those records expire.
    revived = [s for s in keys if "key" in dead.get(subject_ref(hash_key, s), ())]
    if revived and (wanted is None or "subject_key" in wanted):
        with dbs.main.begin() as conn:
            count = conn.execute(delete(subject_keys).where(subject_keys.c.subject.in_(revived))).rowcount or 0
            if count:
                write_ledger(conn, services, report.run, "subject_key", "subject_keys", count, RESTORED)
        report.cls("subject_key", INTERNAL_CLASSES["subject_key"]).destroyed += count
    key_refs = [ref for ref, kinds in dead.items() if "key" in kinds]
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
                    write_ledger(conn, services, report.run, retention, "archived_records", count, RESTORED)
                    report.cls(retention, statute_of(services, retention)).destroyed += count
