"""The destruction ledger (파기 기록): what was destroyed, when, under which law, by
which method and run. It holds no personal data; each database keeps its own
rows, written in the same transaction as the deletions they count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..storage import archive_tables as archive_db
from ..storage.tables import destructions
from .report import Run

if TYPE_CHECKING:
    from ..services import Services

__all__ = [
    "INTERNAL_CLASSES",
    "UNTIL_WITHDRAWAL",
    "destruction_history",
    "items_of",
    "method_of",
    "statute_of",
    "write_ledger",
]

# Classes the extension keeps on its own behalf (not in the policy file).
INTERNAL_CLASSES = {
    "operator_access": "개인정보 보호법 제29조, 개인정보의 안전성 확보조치 기준 제8조 (접속기록)",
    "withdrawal_link": "single-use withdrawal links: kept only until they expire",
    "subject_key": "crypto-shredding: the key of a subject none of whose archived records remain",
    "mail_address": "개인정보 보호법 제21조: a member's address, kept only to send a notice (mail outbox)",
}

# What each internal class destroys (the ledger's ``items``; a policy class names its own).
INTERNAL_ITEMS = {
    "operator_access": "operator, accessed_at, ip, subject, task, reason",
    "withdrawal_link": "token nonce",
    "subject_key": "subject encryption key",
    "mail_address": "email",
}

# The class host data erased on withdrawal is recorded under when the policy has no
# class kept "until withdrawal" (see ``erasure.erased_class``). Not in INTERNAL_CLASSES:
# nothing the purge keeps or expires is of this class, so its report has no line for it.
UNTIL_WITHDRAWAL = "until_withdrawal"
_UNTIL_WITHDRAWAL_STATUTE = "개인정보 보호법 제21조 (보유기간 경과 또는 처리 목적 달성 시 지체 없이 파기)"


def statute_of(services: Services, retention: str) -> str:
    if retention in INTERNAL_CLASSES:
        return INTERNAL_CLASSES[retention]
    cls = services.policy.find_retention_class(retention)
    if cls is None and retention == UNTIL_WITHDRAWAL:
        return _UNTIL_WITHDRAWAL_STATUTE
    if cls is None:
        return "unknown class (not in the current policy)"
    article = f" ({cls.article.get('ko')})" if cls.article else ""
    return f"{cls.statute.get('ko')}{article}"


def items_of(services: Services, retention: str) -> str:
    """The items a class's records hold, as the destruction ledger names them."""
    if retention in INTERNAL_ITEMS:
        return INTERNAL_ITEMS[retention]
    cls = services.policy.find_retention_class(retention)
    return ", ".join(cls.items) if cls is not None and cls.items else "-"


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
    services: Services,
    run: Run,
    retention: str,
    target: str,
    count: int,
    method: str,
    items: str | None = None,
) -> None:
    """Add ``count`` to this run's ledger row for (class, target) — same transaction as the delete.
    ``items`` names what was destroyed when it is not the class's whole record (the
    fields a deletion of named items emptied); default: the class's items.

    One upsert on the (run, class, target) key: an UPDATE that finds nothing and then
    an INSERT would take gap locks on MariaDB, and two runs writing at once (a
    withdrawal and the mail thread) would deadlock each other."""
    table = destructions if conn.engine is services.databases.main else archive_db.destructions
    row = {
        "run_id": run.id,
        "ran_at": services.now(),
        "purge_now": run.now,
        "retention": retention,
        "statute": statute_of(services, retention),
        "target": target,
        "count": count,
        "method": method,
        "executor": run.executor[:191],
        "items": items if items is not None else items_of(services, retention),
        "approved_by": run.approved_by[:191] if run.approved_by else None,
    }
    dialect = conn.dialect.name
    if dialect in ("mysql", "mariadb"):
        stmt = mysql_insert(table).values(row)
        conn.execute(stmt.on_duplicate_key_update(count=table.c.count + stmt.inserted["count"]))
        return
    upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table).values(row)
    # One run may destroy a class by two methods (PostgreSQL: whole partitions dropped,
    # then the boundary month's rows deleted): the row names both.
    both = func.substr(table.c.method + " + " + upsert.excluded["method"], 1, 255)
    method_now = case((table.c.method.contains(upsert.excluded["method"]), table.c.method), else_=both)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["run_id", "retention", "target"],
            set_={"count": table.c.count + upsert.excluded["count"], "method": method_now},
        )
    )


def destruction_history(services: Services) -> list[dict[str, Any]]:
    """Every ledger row of both databases, oldest first."""
    tz = services.policy.tz
    rows: list[dict[str, Any]] = []
    for database, engine, table in (
        ("main", services.databases.main, destructions),
        ("archive", services.databases.archive, archive_db.destructions),
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
                        "items": r["items"],
                        "approved_by": r["approved_by"],
                    }
                )
    return sorted(rows, key=lambda r: (r["ran_at"], r["run_id"], r["retention"]))
