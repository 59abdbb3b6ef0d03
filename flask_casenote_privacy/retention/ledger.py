"""The destruction ledger (파기 기록) and what a purge reports: per retention class,
how many records were destroyed, how many are kept, the next expiry. The ledger
holds no personal data; each database keeps its own rows, written in the same
transaction as the deletions they count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.engine import Connection

from ..storage import archive_tables as archive_db
from ..storage.engines import UTCDateTime
from ..storage.tables import access_log, destructions, operator_access, provisions, subject_keys, token_uses

if TYPE_CHECKING:
    from ..extension import Privacy

__all__ = ["INTERNAL_CLASSES", "ClassReport", "PurgeReport", "destruction_history", "scrub_engine", "write_ledger"]

# Classes the extension keeps on its own behalf (not in the policy file).
INTERNAL_CLASSES = {
    "operator_access": "개인정보 보호법 제29조, 개인정보의 안전성 확보조치 기준 제8조 (접속기록)",
    "withdrawal_link": "single-use withdrawal links: kept only until they expire",
    "subject_key": "crypto-shredding: the key of a subject none of whose archived records remain",
}


@dataclass
class ClassReport:
    retention: str
    statute: str
    destroyed: int = 0
    kept: int = 0
    next_expiry: datetime | None = None
    targets: set[str] = field(default_factory=set)


@dataclass
class PurgeReport:
    run_id: str
    now: datetime
    dry_run: bool
    classes: dict[str, ClassReport] = field(default_factory=dict)

    def cls(self, retention: str, statute: str) -> ClassReport:
        if retention not in self.classes:
            self.classes[retention] = ClassReport(retention, statute)
        return self.classes[retention]

    @property
    def destroyed(self) -> int:
        return sum(c.destroyed for c in self.classes.values())

    def to_dict(self, tz: Any) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "now": self.now.astimezone(tz).isoformat(),
            "dry_run": self.dry_run,
            "destroyed": self.destroyed,
            "classes": [
                {
                    "retention": c.retention,
                    "statute": c.statute,
                    "destroyed": c.destroyed,
                    "kept": c.kept,
                    "next_expiry": c.next_expiry.astimezone(tz).isoformat() if c.next_expiry else None,
                    "targets": sorted(c.targets),
                }
                for c in self.classes.values()
            ],
        }


def statute_of(privacy: Privacy, retention: str) -> str:
    if retention in INTERNAL_CLASSES:
        return INTERNAL_CLASSES[retention]
    try:
        cls = privacy.policy.retention_class(retention)
    except KeyError:
        return "unknown class (not in the current policy)"
    article = f" ({cls.article.get('ko')})" if cls.article else ""
    return f"{cls.statute.get('ko')}{article}"


def method_of(engine: Engine, extra: str = "") -> str:
    name = engine.dialect.name
    if name == "sqlite":
        base = "DELETE; SQLite secure_delete=ON (overwritten) + WAL checkpoint(TRUNCATE)"
    elif name == "postgresql":
        base = "DELETE; dead tuples remain until VACUUM (--vacuum)"
    else:
        base = f"DELETE ({name}); freed space reused, OPTIMIZE TABLE with --vacuum"
    return f"{extra}{base}"[:255]


def write_ledger(
    conn: Connection,
    privacy: Privacy,
    report: PurgeReport,
    retention: str,
    target: str,
    count: int,
    method: str,
    executor: str,
) -> None:
    """Add ``count`` to this run's ledger row for (class, target) — same transaction as the delete."""
    table = destructions if conn.engine is privacy.databases.main else archive_db.destructions
    changed = conn.execute(
        update(table)
        .where(table.c.run_id == report.run_id, table.c.retention == retention, table.c.target == target)
        .values(count=table.c.count + count)
    ).rowcount
    if not changed:
        conn.execute(
            insert(table).values(
                run_id=report.run_id,
                ran_at=privacy.now(),
                purge_now=report.now,
                retention=retention,
                statute=statute_of(privacy, retention),
                target=target,
                count=count,
                method=method,
                executor=executor[:191],
            )
        )


def as_utc(value: Any) -> datetime | None:
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):  # SQLite hands MIN() of a TypeDecorator column back as text
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None)


def scrub_all(privacy: Privacy, vacuum: bool) -> None:
    for engine, tables in (
        (privacy.databases.main, [access_log, provisions, operator_access, token_uses, subject_keys]),
        (privacy.databases.archive, [archive_db.archived_records]),
    ):
        scrub_engine(engine, [t.name for t in tables], vacuum=vacuum)


def scrub_engine(engine: Engine, tables: list[str], *, vacuum: bool = False) -> None:
    """After deletes: SQLite moves the WAL into the (secure-deleted) file and truncates
    it; PostgreSQL/MariaDB reclaim dead rows only when asked (``vacuum``)."""
    name = engine.dialect.name
    if name == "sqlite":
        with engine.connect() as conn:
            if vacuum:
                conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif vacuum and name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f'VACUUM (ANALYZE) "{table}"'))
    elif vacuum:
        with engine.connect() as conn:
            for table in tables:
                conn.exec_driver_sql(f"OPTIMIZE TABLE `{table}`")


def destruction_history(privacy: Privacy) -> list[dict[str, Any]]:
    """Every ledger row of both databases, oldest first."""
    tz = privacy.policy.tz
    rows: list[dict[str, Any]] = []
    for database, engine, table in (
        ("main", privacy.databases.main, destructions),
        ("archive", privacy.databases.archive, archive_db.destructions),
    ):
        with engine.connect() as conn:
            for r in conn.execute(select(table).order_by(table.c.id)).mappings():
                rows.append(
                    {
                        "run_id": r["run_id"],
                        "ran_at": r["ran_at"].astimezone(tz).isoformat(),
                        "purge_now": r["purge_now"].astimezone(tz).isoformat(),
                        "retention": r["retention"],
                        "statute": r["statute"],
                        "target": r["target"],
                        "database": database,
                        "count": int(r["count"]),
                        "method": r["method"],
                        "executor": r["executor"],
                    }
                )
    return sorted(rows, key=lambda r: (r["ran_at"], r["run_id"], r["retention"]))
