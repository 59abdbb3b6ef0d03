"""Erasing members from the host's sources: the one path a withdrawal, a completed
deletion request and a tombstone re-applied after a restore all take.

The order is what makes it safe, and it is the same for all three:

1. records the law makes us keep are archived, encrypted (the archive commits first);
2. a tombstone remembers the member and each record (before erasing: a crash must not
   lose it, or a restored backup could bring them back unnoticed);
3. source by source, dependants first (reverse registration order), the ledger row
   for (run, source) is written, then the source is erased.

The ledger row is written once per (run, source), just before the erasure: a crash
between the two loses no count, and running the same run again (a request executed
again after a crash) finds the row and does not count the same rows twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update

from ..sources import DataSource, fingerprinted_records
from ..storage.crypto import subject_ref
from ..storage.tables import access_log, destructions
from .archiving import archive_subject
from .guardian_purge import empty_guardian_of
from .ledger import UNTIL_WITHDRAWAL, method_of, statute_of, write_ledger
from .report import PurgeReport, Run
from .tombstones import RESTORED, add_subject_tombstone, record_digest

if TYPE_CHECKING:
    from ..policy.model import Policy
    from ..services import Services

__all__ = [
    "REQUEST_EXECUTOR",
    "erase_for_request",
    "erase_items_for_request",
    "erase_restored",
    "erase_subjects",
    "erased_class",
]

# The ledger's executor of an erasure done for a request, whoever decided it: the
# request itself records who completed it (``decided_by``).
REQUEST_EXECUTOR = "withdrawal"

# How one source's erasure is described in the ledger: (source name, source) -> method.
Method = Callable[[str, DataSource], str]


def erased_class(policy: Policy, source: DataSource) -> str:
    """The retention class a source's erased host rows are counted under.

    A source the law makes us keep has its own class (its rows were archived first).
    Any other source held its data "until withdrawal": the policy's class without a
    period that names one of the source's items, else the first such class. A policy
    without one still has its members' data erased on withdrawal; the rows are then
    counted under :data:`~.ledger.UNTIL_WITHDRAWAL`, on PIPA Art. 21's general duty
    to destroy, rather than refusing to erase or borrowing a class with a period
    (which would claim a retention the policy does not state).
    """
    if source.retention is not None:
        return source.retention
    until_withdrawal = [c for c in policy.retention if c.until_withdrawal]
    items = set(source.items)
    for cls in until_withdrawal:
        if items & set(cls.items):
            return cls.id
    return until_withdrawal[0].id if until_withdrawal else UNTIL_WITHDRAWAL


def erase_subjects(
    services: Services,
    subjects: Sequence[str],
    run: Run,
    *,
    method: Method,
    request_id: str | None = None,
    classes: set[str] | None = None,
    identities: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Archive, tombstone, then erase ``subjects`` from every host source, dependants
    first; return the host rows erased per retention class.

    ``request_id`` marks the archived records with the request they were archived for;
    ``classes``, if given, limits the erasure to sources of those classes (a purge's
    ``--class``). ``subjects`` are the host's ids; ``identities`` names the identity
    each is archived under (default: the host id, a first incarnation's identity).
    Safe to run again for the same ``run`` after a crash.
    """
    sources = services.sources
    for subject in subjects:
        identity = (identities or {}).get(subject, subject)
        archive_subject(services, subject, sources, request_id, identity=identity)
        add_subject_tombstone(
            services, subject, {name: fingerprinted_records(source, subject) for name, source in sources.items()}
        )
    erased: dict[str, int] = {}
    for name, source in reversed(list(sources.items())):
        retention = erased_class(services.policy, source)
        if classes is not None and retention not in classes:
            continue
        count = sum(len(source.export(subject)) for subject in subjects)
        _ledger_once(services, run, retention, f"host:{name}"[:64], count, method(name, source))
        for subject in subjects:
            source.erase(subject)
        erased[retention] = erased.get(retention, 0) + count
    return erased


def _ledger_once(
    services: Services, run: Run, retention: str, target: str, count: int, method: str, items: str | None = None
) -> None:
    """The run's ledger row for one source, unless an earlier attempt of the same run
    wrote it (and then crashed before or while erasing)."""
    if not count:
        return
    with services.databases.main.begin() as conn:
        written = conn.execute(
            select(destructions.c.id).where(
                destructions.c.run_id == run.id,
                destructions.c.retention == retention,
                destructions.c.target == target,
            )
        ).first()
        if written is None:
            write_ledger(conn, services, run, retention, target, count, method, items)


def erase_for_request(services: Services, identity: str, request_id: str) -> None:
    """Erase a member for a request covering all their data (a withdrawal, or a
    deletion request the officer completed): the request is the run."""
    host = services.host_of(identity)

    def method(name: str, source: DataSource) -> str:
        if source.retention is None:
            return f"deleted from the host's {name} on withdrawal (request {request_id[:8]})"
        return f"moved to the archive encrypted, host rows deleted (request {request_id[:8]})"

    run = Run(request_id, services.now(), REQUEST_EXECUTOR)
    erase_subjects(services, [host], run, method=method, request_id=request_id, identities={host: identity})
    empty_guardian_of(services, identity, run)  # a legal representative's contact (PIPA §22-2②)


def erase_items_for_request(
    services: Services, identity: str, request_id: str, items: Collection[str], log_fields: Collection[str] = ()
) -> dict[str, int]:
    """Empty the fields of ``items`` in every host source holding them, for a request
    that leaves the membership in place: a deletion of named items (PIPA §36①), or a
    consent withdrawn whose purposes alone used them (§37). ``log_fields`` are columns
    of the access log emptied for the same reason. Returns the records touched per
    target (``host:<source>``, ``access_log``).

    The same path as a withdrawal's erasure: the request is the run, and each target
    touched gets one ledger row (파기 관리대장: class, target, the items, count, method),
    written before its fields are emptied; a re-run after a crash finds the row, or
    finds nothing left to empty, and writes no second one.
    """
    host = services.host_of(identity)
    run = Run(request_id, services.now(), REQUEST_EXECUTOR)
    touched: dict[str, int] = {}
    for name, source in reversed(list(services.sources.items())):
        held = [i for i in items if i in source.items]
        if not held:
            continue
        fields = {source.items[i] for i in held}
        # A record counts if it still holds a value for one of the items (a field
        # the source does not show is assumed held: counting high beats missing one).
        count = sum(
            1
            for record in source.export(host)
            if not fields <= record.data.keys() or any(record.data[f] not in (None, "") for f in fields)
        )
        target = f"host:{name}"[:64]
        method = f"fields emptied (set to NULL) in the host's {name}, membership kept (request {request_id[:8]})"
        _ledger_once(services, run, erased_class(services.policy, source), target, count, method, ", ".join(held))
        source.erase(host, items=held)
        if count:
            touched[target] = count
    if log_fields:
        touched.update(_empty_log_fields(services, identity, run, sorted(log_fields)))
    return touched


def _empty_log_fields(services: Services, subject: str, run: Run, fields: list[str]) -> dict[str, int]:
    """Empty ``fields`` of the subject's access-log rows, counting them in the ledger
    (per retention class of the rows) in the same transaction: all or nothing."""
    columns = [access_log.c[f] for f in fields]
    where = (access_log.c.subject == subject) & or_(*(c.isnot(None) for c in columns))
    method = method_of(services.databases.main, f"fields emptied ({', '.join(fields)}) on request {run.id[:8]}; ")
    total = 0
    with services.databases.main.begin() as conn:
        counts = conn.execute(
            select(access_log.c.retention, func.count()).where(where).group_by(access_log.c.retention)
        ).all()
        for retention, count in counts:
            write_ledger(conn, services, run, retention, "access_log", int(count), method, ", ".join(fields))
            total += int(count)
        if total:
            conn.execute(update(access_log).where(where).values(dict.fromkeys(fields)))
    return {"access_log": total} if total else {}


def erase_restored(
    services: Services, report: PurgeReport, wanted: set[str] | None, dead: Mapping[str, set[str]]
) -> None:
    """Withdrawn members found again in the host's sources (a restored host backup):
    erase them again, as their withdrawal did, within the purge's run. ``dead`` is
    every tombstone (``tombstones.read_tombstones``)."""
    refs = {ref for ref, kinds in dead.items() if "subject" in kinds}
    if not refs:
        return
    record_refs = {ref for ref, kinds in dead.items() if "record" in kinds}
    hash_key = services.hash_key
    sources = services.sources
    revived: dict[str, None] = {}
    for source in sources.values():
        subjects = getattr(source, "subjects", None)
        if subjects is not None:
            revived.update((s, None) for s in subjects() if subject_ref(hash_key, s) in refs)
    restored = []
    for subject in revived:
        # Erase only a restored copy: every record the subject has now must be one
        # that was destroyed. A new member given a reused id has records of their own
        # (their own name and email at least), and nothing of theirs is touched.
        current = [
            (name, record) for name, source in sources.items() for record in fingerprinted_records(source, subject)
        ]
        if current and all(record_digest(hash_key, name, record) in record_refs for name, record in current):
            restored.append(subject)
    if not restored:
        return
    erased = erase_subjects(services, restored, report.run, method=lambda _name, _source: RESTORED, classes=wanted)
    for retention, count in erased.items():
        if count:
            report.cls(retention, statute_of(services, retention)).destroyed += count
