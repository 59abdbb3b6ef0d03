"""After deletes: make the deleted values unrecoverable in the database files
(SQLite's WAL folded into the secure-deleted file; VACUUM/OPTIMIZE on request)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from ..services import Services
from ..storage import archive_tables as archive_db
from ..storage.engines import checkpoint_wal
from ..storage.tables import access_log, operator_access, provisions, subject_keys, token_uses

__all__ = ["scrub_all", "scrub_engine"]


def scrub_all(services: Services, vacuum: bool) -> None:
    for engine, tables in (
        (services.databases.main, [access_log, provisions, operator_access, token_uses, subject_keys]),
        (services.databases.archive, [archive_db.archived_records]),
    ):
        scrub_engine(engine, [t.name for t in tables], vacuum=vacuum)


def scrub_engine(engine: Engine, tables: list[str], *, vacuum: bool = False) -> None:
    """After deletes: SQLite moves the WAL into the (secure-deleted) file and truncates
    it; PostgreSQL/MariaDB reclaim dead rows only when asked (``vacuum``)."""
    name = engine.dialect.name
    if name == "sqlite":
        if vacuum:
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM")
        checkpoint_wal(engine)
    elif vacuum and name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f'VACUUM (ANALYZE) "{table}"'))
    elif vacuum:
        with engine.connect() as conn:
            for table in tables:
                conn.exec_driver_sql(f"OPTIMIZE TABLE `{table}`")
