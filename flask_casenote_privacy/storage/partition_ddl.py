"""The DDL that partitions a table by month of expiry on PostgreSQL and keeps its rows
counted per month and class, shared by the migrations that apply it (``main_0015``,
``main_0016`` for the access log; ``archive_0006`` for the archive).

Each function takes Alembic's ``op`` (anything with ``execute`` and ``get_bind``);
the callers run them on PostgreSQL only.
"""

from __future__ import annotations

from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import text

from .partitions import COUNT_FUNCTION, Partitioned, count_rows_of, partition_names

__all__ = ["count_month_rows", "drop_month_rows", "partition_by_month", "unpartition"]


def _move_aside(op: Any, table: Partitioned, names: list[str]) -> str:
    """Rename the table and the index ``names`` it may have (index names are per
    schema), and free its id sequence so that dropping the old table keeps the
    sequence. Returns the table's new name."""
    old = f"{table.parent}_unpartitioned"
    op.execute(f"ALTER SEQUENCE {table.parent}_id_seq OWNED BY NONE")
    op.execute(f"ALTER TABLE {table.parent} RENAME TO {old}")
    for name in names:
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    return old


def _finish(op: Any, table: Partitioned, old: str, indexes: dict[str, str]) -> None:
    for name, columns in indexes.items():
        op.execute(f"CREATE INDEX {name} ON {table.parent} ({columns})")
    op.execute(f"INSERT INTO {table.parent} SELECT * FROM {old}")  # noqa: S608 - constants
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ALTER SEQUENCE {table.parent}_id_seq OWNED BY {table.parent}.id")


def partition_by_month(
    op: Any, table: Partitioned, indexes: dict[str, str], keys: dict[str, str], aside: tuple[str, ...] = ()
) -> None:
    """Replace ``table`` by one partitioned by range of ``expires_at`` with the same
    columns, ``indexes`` (name -> columns) and id sequence, its ``keys`` (name ->
    definition; PostgreSQL requires every unique key to hold ``expires_at``), a
    partition for every month its rows expire in and DEFAULT; the rows are copied over.
    ``aside``: other index names the old table's keys may have."""
    old = _move_aside(op, table, [*indexes, *keys, *aside])
    constraints = ", ".join(f"CONSTRAINT {name} {kind}" for name, kind in keys.items())
    op.execute(
        f"CREATE TABLE {table.parent} (LIKE {old} INCLUDING DEFAULTS, {constraints}) PARTITION BY RANGE (expires_at)"
    )
    op.execute(f"CREATE TABLE {table.default} PARTITION OF {table.parent} DEFAULT")
    months = op.get_bind().execute(text(f"SELECT DISTINCT date_trunc('month', expires_at) FROM {old}"))  # noqa: S608
    for (month,) in months.all():
        upper = month + relativedelta(months=1)
        op.execute(
            f"CREATE TABLE {table.name(month)} PARTITION OF {table.parent} "
            f"FOR VALUES FROM ('{month.isoformat(' ')}') TO ('{upper.isoformat(' ')}')"
        )
    _finish(op, table, old, indexes)


def unpartition(
    op: Any, table: Partitioned, indexes: dict[str, str], keys: dict[str, str], aside: tuple[str, ...] = ()
) -> None:
    """Back to one table with the ``keys`` (name -> definition) given; ``aside``: the
    partitioned table's key names. Dropping it drops every partition with it."""
    old = _move_aside(op, table, [*indexes, *keys, *aside])
    constraints = ", ".join(f"CONSTRAINT {name} {kind}" for name, kind in keys.items())
    op.execute(f"CREATE TABLE {table.parent} (LIKE {old} INCLUDING DEFAULTS, {constraints})")
    _finish(op, table, old, indexes)


def count_month_rows(op: Any, table: Partitioned) -> None:
    """``<parent>_month_rows``: one row per (month of expiry, class) with how many rows
    of ``table`` expire then under that class, taken now and kept exact by
    statement-level triggers (:func:`.partitions.count_rows_of`) on the parent and on
    every partition (those made later get theirs when they are made): every INSERT,
    DELETE and UPDATE, whichever table the statement names and whoever runs it. A
    count that goes below zero shows drift (the purge then counts that month row by
    row)."""
    counts = table.month_rows
    op.execute(
        f"CREATE TABLE {counts} (month timestamp NOT NULL, retention varchar(64) NOT NULL, "
        f"rows bigint NOT NULL, CONSTRAINT {counts}_pkey PRIMARY KEY (month, retention))"
    )
    op.execute(COUNT_FUNCTION.format(counts=counts))
    # Writers wait while the rows already there are counted, so none is missed or
    # counted twice; the triggers are in place before they go on.
    op.execute(f"LOCK TABLE {table.parent} IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        f"INSERT INTO {counts} (month, retention, rows) "  # noqa: S608 - constants
        f"SELECT date_trunc('month', expires_at), retention, count(*) FROM {table.parent} GROUP BY 1, 2"
    )
    bind = op.get_bind()
    for relation in [table.parent, *partition_names(bind, table)]:
        count_rows_of(bind, table, relation)


def drop_month_rows(op: Any, table: Partitioned) -> None:
    """Remove the counts; dropping the function drops every trigger that calls it."""
    op.execute(f"DROP FUNCTION IF EXISTS {table.month_rows}_count() CASCADE")
    op.execute(f"DROP TABLE IF EXISTS {table.month_rows}")
