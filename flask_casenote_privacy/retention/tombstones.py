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

__all__ = ["add_subject_tombstone", "reapply_tombstones", "record_digest", "shred_keys"]


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


def reapply_tombstones(services: Services, report: PurgeReport, wanted: set[str] | None) -> None:
    """A restored backup must not resurrect what was destroyed: keys, their archived
    ciphertext, and withdrawn members' rows in the host's sources."""
    dbs = services.databases
    hash_key = services.hash_key
    with dbs.main.connect() as conn:
        dead = {row[0]: _kinds(row[1]) for row in conn.execute(select(tombstones.c.ref, tombstones.c.kind))}
        keys = conn.execute(select(subject_keys.c.subject)).scalars().all()
    if not dead:
        return
    method = "re-applied after a restore (tombstone)"
    # Only a destroyed key comes back destroyed: a withdrawn member's key must keep
    # their archived records readable until those records expire.
    revived = [s for s in keys if "key" in dead.get(subject_ref(hash_key, s), ())]
    if revived and (wanted is None or "subject_key" in wanted):
        with dbs.main.begin() as conn:
            count = conn.execute(delete(subject_keys).where(subject_keys.c.subject.in_(revived))).rowcount or 0
            if count:
                write_ledger(conn, services, report.run, "subject_key", "subject_keys", count, method)
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
                    write_ledger(conn, services, report.run, retention, "archived_records", count, method)
                    report.cls(retention, statute_of(services, retention)).destroyed += count
    subject_refs = {ref for ref, kinds in dead.items() if "subject" in kinds}
    record_refs = {ref for ref, kinds in dead.items() if "record" in kinds}
    if subject_refs:
        _reapply_withdrawals(services, report, wanted, subject_refs, record_refs, method)


def _reapply_withdrawals(
    services: Services,
    report: PurgeReport,
    wanted: set[str] | None,
    refs: set[str],
    record_refs: set[str],
    method: str,
) -> None:
    """Withdrawn members found again in the host's sources (a restored host backup):
    erase them again from every source, as the withdrawal did; records the law keeps
    are archived first (idempotent: normally they are there already)."""
    from .archiving import archive_subject

    hash_key = services.hash_key
    sources = services.sources
    revived: dict[str, None] = {}
    for source in sources.values():
        subjects = getattr(source, "subjects", None)
        if subjects is not None:
            revived.update((s, None) for s in subjects() if subject_ref(hash_key, s) in refs)
    for subject in revived:
        # Erase only a restored copy: every record the subject has now must be one
        # that was destroyed. A new member given a reused id has records of their own
        # (their own name and email at least), and nothing of theirs is touched.
        current = [(name, record) for name, source in sources.items() for record in source.export(subject)]
        if not current or not all(record_digest(hash_key, name, record) in record_refs for name, record in current):
            continue
        archive_subject(services, subject, sources, None)
        for name, source in reversed(list(sources.items())):  # dependants first, as a withdrawal does
            retention = source.retention or "membership"
            if wanted is not None and retention not in wanted:
                continue
            count = source.erase(subject)
            if count:
                with services.databases.main.begin() as conn:
                    write_ledger(conn, services, report.run, retention, f"host:{name}"[:64], count, method)
                report.cls(retention, statute_of(services, retention)).destroyed += count
