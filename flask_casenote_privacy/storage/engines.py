"""Engines for the extension's two databases, and the column types they share.

The main database holds ledgers and logs; the archive database (분리보관) holds
records kept only because a law says so. Any SQLAlchemy URL works for either.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL
from sqlalchemy.types import TypeDecorator

__all__ = ["Databases", "UTCDateTime", "as_utc", "checkpoint_wal", "make_engine"]


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC, identically on every backend.

    MariaDB keeps microseconds only with ``DATETIME(6)``; SQLite and PostgreSQL
    keep them anyway. Values come back aware, in UTC.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; pass an aware datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the writer thread and request threads work at once; busy_timeout
    # makes a second process wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted content is overwritten with zeros, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_engine(url: URL, options: dict[str, Any] | None = None) -> Engine:
    """``create_engine`` with the settings this package relies on per backend."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() in ("mysql", "mariadb"):
        kwargs["pool_recycle"] = 3600
    kwargs.update(options or {})
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Databases:
    """The main and archive engines of one app."""

    def __init__(self, main_url: URL, archive_url: URL, options: dict[str, Any] | None = None) -> None:
        self.main_url = main_url
        self.archive_url = archive_url
        self.main = make_engine(main_url, options)
        self.archive = make_engine(archive_url, options)

    def dispose(self) -> None:
        self.main.dispose()
        self.archive.dispose()


def as_utc(value: Any) -> datetime | None:
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):  # SQLite hands MIN() of a TypeDecorator column back as text
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None)


def checkpoint_wal(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the (secure-deleted) database file and
    truncate it, so deleted values are not left in the ``-wal`` file."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
