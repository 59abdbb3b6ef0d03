"""Writing many access-log rows fast: one multi-row INSERT per statement, values
converted exactly as ``UTCDateTime`` would bind them, straight to the driver.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import repeat
from operator import is_not
from types import MappingProxyType
from typing import Any

from sqlalchemy import String, insert, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeEngine

from ..storage.engines import UTCDateTime
from ..storage.tables import access_log

__all__ = ["DATETIME_COLUMNS", "BulkInserter", "Row", "not_stored"]

Row = dict[str, Any]
"""An access-log row as capture makes it: column name -> value, without ``id``."""
DATETIME_COLUMNS = tuple(c.name for c in access_log.columns if isinstance(c.type, UTCDateTime))
"""The columns whose values are aware datetimes (``occurred_at``, ``expires_at``)."""
# Rows carry only the fields consent allowed; executemany needs every column.
_EMPTY_ROW = MappingProxyType({c.name: None for c in access_log.columns if c.name != "id"})
_COLUMNS = tuple(_EMPTY_ROW)
_DATETIME_POSITIONS = tuple(_COLUMNS.index(name) for name in DATETIME_COLUMNS)
# On SQLite, a column that is NULL in every row of a statement is written as a NULL
# literal: binding None costs the sqlite3 module a failed adapter lookup per value
# (it adapts every value but str, int, float and bytearray), about a third of a
# batch's binding work when consent leaves six columns empty.
_NULL_CANDIDATES = tuple(c.name for c in access_log.columns if c.nullable and c.name in _COLUMNS)
_MAX_NULL_SETS = 8
# Drivers whose executemany takes the raw INSERT below with a tuple per row.
_PLACEHOLDERS = MappingProxyType({"pysqlite": "?", "psycopg": "%s", "psycopg2": "%s", "pymysql": "%s", "mysqldb": "%s"})
_UTC = timezone.utc


class BulkInserter:
    """INSERTs access-log rows; remembers the raw INSERT of each dialect it met.
    The writer owns one."""

    def __init__(self) -> None:
        self._fast_inserts: dict[tuple[str, str, str], _FastInsert | None] = {}

    def insert(self, conn: Connection, rows: list[Row]) -> None:
        """INSERT ``rows``, in as few statements as the driver allows.

        On the drivers of ``_PLACEHOLDERS`` the INSERT goes to the driver as it is,
        many rows per statement (``VALUES (...), (...), ...``), every value already
        what ``UTCDateTime`` would bind (naive UTC; on SQLite the text SQLAlchemy
        writes and reads back): no per-row work in SQLAlchemy, and one round trip
        (on SQLite, one release of the GIL) per statement instead of per row. On
        SQLite, a column NULL in every row is a ``NULL`` literal, not a parameter.
        Anything else, and any row whose datetimes are not aware, goes through
        SQLAlchemy Core as before.
        """
        fast = self._fast_insert(conn.dialect)
        if fast is not None and fast.datetimes_as_text:
            if _insert_sqlite(conn, fast, rows):
                return
        elif fast is not None:
            params = _flat_params(rows)
            if params is not None:
                width = len(_COLUMNS)
                if fast.unnest is not None:
                    # psycopg 3 parses a query's %s placeholders on every execute and
                    # caches only short queries: a 500-row VALUES list cost ~70 µs a row
                    # to parse. One array per column, unnested by the server, is one
                    # short statement per batch: one round trip, and the counting
                    # trigger of a partitioned log (main_0016) fires once per batch.
                    conn.exec_driver_sql(fast.unnest, tuple(params[i::width] for i in range(width)))
                    return
                _execute(conn, fast, params, width, len(rows))
                return
        conn.execute(insert(access_log), [{**_EMPTY_ROW, **row} for row in rows])

    def _fast_insert(self, dialect: Dialect) -> _FastInsert | None:
        """The raw INSERT for ``dialect``, or ``None`` for a driver not in ``_PLACEHOLDERS``."""
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        try:
            return self._fast_inserts[key]
        except KeyError:
            pass
        placeholder = _PLACEHOLDERS.get(dialect.driver)
        result = None if placeholder is None else _FastInsert(dialect, placeholder)
        self._fast_inserts[key] = result
        return result


def _flat_params(rows: list[Row]) -> list[Any] | None:
    """Every row's values in column order, one flat list, datetimes as naive UTC (not
    SQLite: ``_sqlite_params``); ``None`` if a row has a datetime that is not aware
    (SQLAlchemy's UTCDateTime then says what is wrong)."""
    params: list[Any] = []
    extend = params.extend
    positions = _DATETIME_POSITIONS
    for row in rows:
        values = list(map(row.get, _COLUMNS))
        for i in positions:
            value = values[i]
            if not isinstance(value, datetime) or value.tzinfo is None:
                return None
            values[i] = value.astimezone(_UTC).replace(tzinfo=None)
        extend(values)
    return params


def _insert_sqlite(conn: Connection, fast: _FastInsert, rows: list[Row]) -> bool:
    """The SQLite INSERTs of ``rows``; False (nothing written) if a row has a datetime
    that is not aware. Columns NULL in every row are NULL literals, not parameters."""
    nulls = fast.null_set(
        frozenset(
            name for name in _NULL_CANDIDATES if not any(map(is_not, map(dict.get, rows, repeat(name)), repeat(None)))
        )
    )
    columns = [name for name in _COLUMNS if name not in nulls] if nulls else list(_COLUMNS)
    params = _sqlite_params(rows, columns)
    if params is None:
        return False
    _execute(conn, fast, params, len(columns), len(rows), nulls)
    return True


def _execute(
    conn: Connection, fast: _FastInsert, params: list[Any], width: int, rows: int, nulls: frozenset[str] = frozenset()
) -> None:
    """The multi-row INSERTs of ``rows`` rows of ``width`` values each, in the few
    statement sizes of ``_statement_sizes``."""
    start = 0
    for size in _statement_sizes(rows, fast.max_rows):
        conn.exec_driver_sql(fast.sql(size, nulls), tuple(params[start * width : (start + size) * width]))
        start += size


def _sqlite_params(rows: list[Row], columns: list[str]) -> list[Any] | None:
    """Every row's values of ``columns``, in order, in one flat list, the datetimes as
    the text SQLAlchemy writes on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC);
    ``None`` if a row has a datetime that is not aware."""
    params: list[Any] = []
    extend = params.extend
    positions = [columns.index(name) for name in DATETIME_COLUMNS]
    # The text of each second met: rows come in order, so a batch holds few seconds.
    # (datetime.isoformat costs about three times as much as these few lookups.)
    seconds: dict[tuple[int, ...], str] = {}
    for row in rows:
        values = list(map(row.get, columns))
        for i in positions:
            value = values[i]
            if not isinstance(value, datetime) or value.tzinfo is None:
                return None
            if value.tzinfo is not _UTC:
                value = value.astimezone(_UTC)
            second = (value.year, value.month, value.day, value.hour, value.minute, value.second)
            prefix = seconds.get(second)
            if prefix is None:
                year, month, day, hour, minute, sec = second
                prefix = seconds[second] = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{sec:02d}."
            values[i] = prefix + "%06d" % value.microsecond  # noqa: UP031 - half the cost of an f-string here
        extend(values)
    return params


def _statement_sizes(rows: int, most: int) -> Iterator[int]:
    """Rows per statement: ``most`` at a time, then powers of two, so that only a
    few distinct statements are ever prepared (drivers cache them by text)."""
    while rows >= most:
        yield most
        rows -= most
    size = 1 << max(rows.bit_length() - 1, 0)
    while rows:
        if size <= rows:
            yield size
            rows -= size
        size >>= 1


class _FastInsert:
    """The raw multi-row INSERT for one dialect."""

    def __init__(self, dialect: Dialect, placeholder: str) -> None:
        quote = dialect.identifier_preparer.quote
        table = dialect.identifier_preparer.format_table(access_log)
        self.head = f"INSERT INTO {table} ({', '.join(quote(c) for c in _COLUMNS)}) VALUES "  # noqa: S608 - names from the Table
        self.group = f"({', '.join([placeholder] * len(_COLUMNS))})"
        self.datetimes_as_text = dialect.name == "sqlite"
        self.unnest: str | None = None
        if dialect.driver == "psycopg":
            # Strings as text[]: a cast to varchar(n) would cut an over-long value where
            # the INSERT's own assignment refuses it, as every other path does.
            arrays = ", ".join(f"%s::{_array_type(access_log.c[c].type, dialect)}[]" for c in _COLUMNS)
            self.unnest = self.head.replace(" VALUES ", f" SELECT * FROM unnest({arrays})")  # noqa: S608
        # Bound parameters per statement: SQLite before 3.32 allows 999, later 32766;
        # PostgreSQL and MySQL 65535.
        limit = 65535
        if dialect.name == "sqlite":
            limit = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
        self.max_rows = max(1, min(500, limit // len(_COLUMNS)))
        self._placeholder = placeholder
        self._sql: dict[tuple[int, frozenset[str]], str] = {}
        self._null_sets: set[frozenset[str]] = {frozenset()}

    def null_set(self, nulls: frozenset[str]) -> frozenset[str]:
        """``nulls``, or none if already ``_MAX_NULL_SETS`` other sets are in use: every
        set is one more statement per size for the driver to prepare and cache."""
        if nulls in self._null_sets:
            return nulls
        if len(self._null_sets) > _MAX_NULL_SETS:
            return frozenset()
        self._null_sets.add(nulls)
        return nulls

    def sql(self, rows: int, nulls: frozenset[str] = frozenset()) -> str:
        """The INSERT of ``rows`` rows, with ``nulls`` as NULL literals."""
        text = self._sql.get((rows, nulls))
        if text is None:
            group = self.group
            if nulls:
                group = f"({', '.join('NULL' if c in nulls else self._placeholder for c in _COLUMNS)})"
            text = self._sql[(rows, nulls)] = self.head + ", ".join([group] * rows)
        return text


def _array_type(type_: TypeEngine[Any], dialect: Dialect) -> str:
    return "text" if isinstance(type_, String) else type_.compile(dialect=dialect)


def not_stored(conn: Connection, rows: list[Row]) -> list[Row]:
    """The rows whose ``event_id`` is not in the access log yet."""
    ids = [r["event_id"] for r in rows]
    stored = set(conn.execute(select(access_log.c.event_id).where(access_log.c.event_id.in_(ids))).scalars())
    return [r for r in rows if r["event_id"] not in stored]
