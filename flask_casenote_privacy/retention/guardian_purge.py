"""A legal representative's name and contact (개인정보 보호법 제22조의2 제2항) are kept as
long as the member they consented for: the member's withdrawal empties them (the
request's run), and the purge empties any a crash left behind, each counted in the
destruction ledger in the same transaction. The proof that consent was given (method,
times, policy version) stays, as the consent ledger does.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from ..storage.tables import guardian_consents, subject_incarnations
from .ledger import UNTIL_WITHDRAWAL, method_of, statute_of, write_ledger

if TYPE_CHECKING:
    from ..services import Services
    from .report import PurgeReport, Run

__all__ = ["TARGET", "empty_guardian_of", "purge_guardians"]

TARGET = "guardian_consent"


def _class(services: Services) -> str:
    """The class members' data is kept under until withdrawal (as erasure counts it)."""
    return next((c.id for c in services.policy.retention if c.until_withdrawal), UNTIL_WITHDRAWAL)


def purge_guardians(
    services: Services, report: PurgeReport, now: datetime, dry_run: bool, wanted: set[str] | None
) -> None:
    retention = _class(services)
    if wanted is not None and retention not in wanted:
        return
    t = guardian_consents
    departed = select(subject_incarnations.c.identity).where(subject_incarnations.c.ended_at.is_not(None))
    where = [t.c.guardian_name.is_not(None), t.c.subject.in_(departed)]
    engine = services.databases.main
    with engine.begin() as conn:
        if dry_run:
            count = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        else:
            count = int(
                conn.execute(
                    update(t).where(*where).values(guardian_name=None, guardian_contact=None, destroyed_at=now)
                ).rowcount
                or 0
            )
            if count:
                method = method_of(engine, "legal representative's name and contact set to NULL (UPDATE); ")
                write_ledger(conn, services, report.run, retention, TARGET, count, method)
    if count:
        entry = report.cls(retention, statute_of(services, retention))
        entry.destroyed += count
        entry.targets.add(TARGET)


def empty_guardian_of(services: Services, identity: str, run: Run) -> int:
    """Empty the representative's name and contact of member ``identity``, who is leaving
    (a withdrawal or a completed deletion: ``run`` is the request). Safe to repeat."""
    t = guardian_consents
    engine = services.databases.main
    with engine.begin() as conn:
        count = int(
            conn.execute(
                update(t)
                .where(t.c.subject == identity, t.c.guardian_name.is_not(None))
                .values(guardian_name=None, guardian_contact=None, destroyed_at=services.now())
            ).rowcount
            or 0
        )
        if count:
            method = method_of(engine, "legal representative's name and contact set to NULL on withdrawal; ")
            write_ledger(conn, services, run, _class(services), TARGET, count, method)
    return count
