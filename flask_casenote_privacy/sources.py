"""Host data sources: where the host keeps personal data, so that a withdrawal,
an access request and the archive reach it.

Anything implementing :class:`DataSource` can be registered with
``privacy.register_source(name, source)``; SQLAlchemy models and Core tables
(an association table such as ``user_roles``) get an adapter, :class:`ModelSource`,
through ``privacy.register_model(Model_or_table, ...)``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from .policy.model import Policy, RetentionClass
from .storage.engines import checkpoint_wal

__all__ = [
    "CorrectableSource",
    "DataSource",
    "ModelSource",
    "SourceRecord",
    "fingerprinted_records",
    "json_safe",
    "period_classes",
    "source_label",
]


@dataclass(frozen=True)
class SourceRecord:
    """One record a source holds about a subject, as :meth:`DataSource.export` returns it.

    ``key`` is stable within the source (e.g. the primary key); ``occurred_at``
    is the record's own date as an aware datetime, from which its retention
    period counts when it is archived (``None``: counted from the archiving);
    ``data`` maps field names to JSON-safe values (see :func:`json_safe`).

    >>> SourceRecord(key="7", occurred_at=None, data={"address": "kim@example.com"})
    SourceRecord(key='7', occurred_at=None, data={'address': 'kim@example.com'})
    """

    key: str  # stable within the source, e.g. the primary key
    occurred_at: datetime | None  # the record's own date: a retention period starts here
    data: dict[str, Any]  # JSON-safe values


@runtime_checkable
class DataSource(Protocol):
    """What a withdrawal, an access request and the archive need from a data holder.

    ``items`` maps policy item ids to the source's field names; ``retention``
    is the retention class of records the law makes the controller keep (e.g.
    ``payment_record``), or ``None`` for data erased on withdrawal. Unknown item
    or class ids fail at registration. For a SQLAlchemy model use
    ``privacy.register_model`` (a :class:`ModelSource`); anything else, e.g. a
    mailing service, needs only these two attributes and three methods::

        class Newsletter:
            # Subscribers in a dict: subject id -> {"address": str, "since": aware datetime}.
            items = {"email": "address"}  # policy item id -> field name in SourceRecord.data
            retention = None  # no law keeps it: erased on withdrawal

            def __init__(self):
                self.rows = {}

            def export(self, subject):
                row = self.rows.get(subject)
                if row is None:
                    return []
                return [SourceRecord(key=subject, occurred_at=row["since"], data={"address": row["address"]})]

            def erase(self, subject, items=None):
                if items is not None and "email" not in items:
                    return 0  # only other items' fields were asked for
                return 1 if self.rows.pop(subject, None) is not None else 0

            def find(self, item, value):
                field = self.items.get(item)
                return [s for s, row in self.rows.items() if field and row[field] == value]

        privacy.register_source("newsletter", Newsletter())
    """

    items: Mapping[str, str]
    retention: str | None

    def export(self, subject: str) -> list[SourceRecord]:
        """Every record held about ``subject``, with the fields the member is shown
        (an access request) and the archive keeps (a source with ``retention``):
        the items' fields and what the record needs to make sense, never secrets
        such as password hashes or tokens."""

    def erase(self, subject: str, items: Collection[str] | None = None) -> int:
        """Erase ``subject``'s records (``items=None``), or only the fields of
        those items; return how many records were touched. Idempotent."""

    def find(self, item: str, value: str) -> list[str]:
        """Subjects whose ``item`` equals ``value`` (e.g. who has this email)."""


@runtime_checkable
class CorrectableSource(DataSource, Protocol):
    """A :class:`DataSource` that can also correct a member's data (정정, PIPA §36).
    Optional: a correction request for an item that a source without ``correct``
    holds is refused before anything changes, naming the source, so that the
    officer can correct it by hand (``ModelSource`` has it)."""

    def correct(self, subject: str, item: str, value: str) -> int:
        """Set the field of ``item`` to ``value`` in ``subject``'s records; return how
        many records were changed. ``value`` has been checked already (see
        :meth:`ModelSource.value_problems` for the optional check a source may add)."""


def json_safe(value: Any) -> Any:
    """A column value as JSON can carry it: datetimes as ISO 8601 (naive taken as
    UTC), dates as ISO, decimals as strings, bytes as base64; others unchanged."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value


def fingerprinted_records(source: DataSource, subject: str) -> list[SourceRecord]:
    """What a tombstone's keyed hash of each record covers (retention/tombstones.py):
    a :class:`ModelSource`'s whole rows, so that the hash does not change when the
    host changes ``export=`` (a restored copy must still match it, and tombstones
    written before ``export=`` existed covered every column); any other source's export.
    """
    whole = getattr(source, "whole_records", None)
    return list(whole(subject)) if whole is not None else source.export(subject)


def period_classes(policy: Policy, source: DataSource) -> list[RetentionClass]:
    """The retention classes with a period that name one of ``source``'s items: its rows
    are destroyed that period after their own date (``occurred_at``), member or not
    (개인정보 보호법 제21조 제1항). A class kept "until withdrawal" is not among them."""
    items = set(source.items)
    return [c for c in policy.retention if c.period is not None and items & set(c.items)]


_NO_SUCH_SUBJECT = object()


def source_label(model: Any) -> str:
    """How messages name a registered model (its class name) or Core table (its name)."""
    return model.name if isinstance(model, sa.Table) else model.__name__


def default_source_name(model: Any) -> str:
    """The name a source is registered under by default: the model's or table's table name."""
    return model.name if isinstance(model, sa.Table) else model.__tablename__


class ModelSource:
    """A :class:`DataSource` over one SQLAlchemy model or Core ``Table``;
    ``privacy.register_model`` builds and registers one (its arguments are this class's)::

        privacy.register_model(Payment, subject="user_id", retention="payment_record", occurred_at="paid_at")
        privacy.register_model(user_roles, subject="user_id", export=["role_id"])  # a db.Table

    A table is read and erased with Core statements (``select``/``delete``/``update``)
    in the same session; a model's rows are erased by one bulk ``DELETE`` too, unless
    ``orm_delete=True``: then each row is loaded and ``session.delete(row)``-ed, so the
    mapper's ``before_delete``/``after_delete`` events and ORM cascades run (one
    ``SELECT`` plus one ``DELETE`` per row instead of one statement; a table has no
    mapper, so no events, and ``orm_delete=True`` on one is a ``ValueError``).

    The session is the host's Flask-SQLAlchemy session when the app has one,
    else a new one from ``session_factory`` (a ``sessionmaker``) per operation.
    Subject ids arrive as strings and are converted to the subject column's type.

    A record holds only the columns the host named: ``subject``, the columns of
    ``items``, ``occurred_at``, and ``export`` (other columns worth showing or
    keeping, e.g. ``["amount", "created_at"]``). That is what an access request
    shows and what the archive keeps; a column named nowhere (a password hash, an
    API token) never leaves the host's table::

        privacy.register_model(User, subject="id", items={"email": "email"}, export=["created_at"])
    """

    def __init__(
        self,
        model: type[Any] | sa.Table,
        *,
        subject: str,
        items: Mapping[str, str] | None = None,
        retention: str | None = None,
        occurred_at: str | None = None,
        session_factory: Callable[[], Session] | None = None,
        export: Iterable[str] | None = None,
        orm_delete: bool = False,
    ) -> None:
        self.model = model
        self.label = source_label(model)
        self.is_table = isinstance(model, sa.Table)
        if self.is_table:
            assert isinstance(model, sa.Table)
            columns = list(model.columns)
            # A table without a primary key (many association tables): a row is told by all its columns.
            key_columns = list(model.primary_key.columns) or columns
        else:
            mapper = sa.inspect(model)
            columns, key_columns = list(mapper.columns), list(mapper.primary_key)
        self.columns = {c.key: c for c in columns}
        if isinstance(export, str):
            export = [export]  # export="created_at" means the one column, not its letters
        named = (
            ("subject", subject),
            *((f"item {item}", column) for item, column in (items or {}).items()),
            ("occurred_at", occurred_at),
            *(("export", column) for column in export or ()),
        )
        problems = [
            f"{self.label} has no column {name!r} ({role})"
            for role, name in named
            if name is not None and name not in self.columns
        ]
        if retention is not None and occurred_at is None:
            problems.append("a model with retention= needs occurred_at= (the column its period starts from)")
        if orm_delete and self.is_table:
            problems.append("orm_delete=True needs a mapped model: a Table has no mapper events to run")
        if problems:
            raise ValueError("; ".join(problems))
        self.subject_column = self.columns[subject]
        self.items: Mapping[str, str] = dict(items or {})
        self.retention = retention
        self.occurred_at = occurred_at
        self.session_factory = session_factory
        self.orm_delete = orm_delete
        self.primary_key = [c.key for c in key_columns]
        # The columns a record carries, in the order named: only these are ever read out.
        self.exported: tuple[str, ...] = tuple(dict.fromkeys(name for _, name in named if name is not None))

    # -- sessions --------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        if self.session_factory is not None:
            with self.session_factory() as session, session.begin():
                yield session
            return
        ext = current_app.extensions.get("sqlalchemy")
        if ext is None:
            raise RuntimeError(
                f"register_model({self.label}) needs session_factory= when the app has no Flask-SQLAlchemy"
            )
        session = ext.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def subject_value(self, subject: str) -> Any:
        """The API's string id as the subject column's type ("41" -> 41 for an integer
        key); ``_NO_SUCH_SUBJECT`` for an id that type cannot hold (it has no records)."""
        column_type = self.subject_column.type
        try:
            if isinstance(column_type, sa.Integer):
                return int(subject)
            if isinstance(column_type, sa.Uuid):
                return uuid.UUID(subject)
        except ValueError:
            return _NO_SUCH_SUBJECT
        return subject

    def _where(self, subject: str) -> Any:
        value = self.subject_value(subject)
        return sa.false() if value is _NO_SUCH_SUBJECT else self.subject_column == value

    def _rows(self, session: Session, subject: str) -> list[Any]:
        """The subject's rows: mapped objects for a model, Core rows' mappings for a table."""
        if self.is_table:
            statement = sa.select(self.model).where(self._where(subject))
            return [row._mapping for row in session.execute(statement)]
        return list(session.scalars(sa.select(self.model).where(self._where(subject))))

    def _value(self, row: Any, key: str) -> Any:
        return row[self.columns[key]] if self.is_table else getattr(row, key)

    # -- the protocol ----------------------------------------------------------------
    def export(self, subject: str) -> list[SourceRecord]:
        with self.session() as session:
            return [self.record(row) for row in self._rows(session, subject)]

    def record(self, row: Any, *, every_column: bool = False) -> SourceRecord:
        columns = self.columns if every_column else self.exported
        data = {key: json_safe(self._value(row, key)) for key in columns}
        key = "/".join(str(self._value(row, k)) for k in self.primary_key)
        occurred = self._value(row, self.occurred_at) if self.occurred_at else None
        if isinstance(occurred, datetime) and occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=timezone.utc)  # naive host columns are taken as UTC
        return SourceRecord(key=key, occurred_at=occurred, data=data)

    def whole_records(self, subject: str) -> list[SourceRecord]:
        """The subject's rows with every column, for :func:`fingerprinted_records` only:
        hashed, never shown or stored."""
        with self.session() as session:
            return [self.record(row, every_column=True) for row in self._rows(session, subject)]

    def erase(self, subject: str, items: Collection[str] | None = None) -> int:
        where = self._where(subject)
        with self.session() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if sqlite:
                # Overwrite what is deleted instead of leaving it in free pages.
                session.connection().exec_driver_sql("PRAGMA secure_delete=ON")
            if items is None and self.orm_delete:
                # Row by row, so that the host's mapper events and ORM cascades run.
                rows = self._rows(session, subject)
                for row in rows:
                    session.delete(row)
                session.flush()
                count = len(rows)
            else:
                if items is None:
                    result = session.execute(sa.delete(self.model).where(where))
                else:
                    named = [self.items[i] for i in items if i in self.items]
                    columns = [c for c in named if self.columns[c].nullable]
                    if not columns:
                        return 0
                    result = session.execute(sa.update(self.model).where(where).values({c: None for c in columns}))
                count = int(getattr(result, "rowcount", 0) or 0)
            bind = session.get_bind()
        if sqlite and count:
            checkpoint_wal(bind.engine)
        return count

    def value_problems(self, item: str, value: str) -> list[str]:
        """What is wrong with ``value`` as the new value of ``item`` in this table: a
        text column's length, a column that cannot hold text."""
        column = self.columns[self.items[item]]
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = str
        if python_type is not str:
            return [f"{item}: {self.label}.{column.key} holds {python_type.__name__}, not text; correct it by hand"]
        length = getattr(column.type, "length", None)
        if length is not None and len(value) > length:
            return [f"{item}: at most {length} characters"]
        return []

    def correct(self, subject: str, item: str, value: str) -> int:
        """Set ``item``'s column to ``value`` in the subject's rows (PIPA §36). With
        ``orm_delete=True`` each row is loaded and changed, so that the host's mapper
        events (``before_update``) run, as they do for its erasure."""
        column = self.items[item]
        with self.session() as session:
            if self.orm_delete:
                rows = self._rows(session, subject)
                for row in rows:
                    setattr(row, column, value)
                session.flush()
                return len(rows)
            result = session.execute(sa.update(self.model).where(self._where(subject)).values({column: value}))
            return int(getattr(result, "rowcount", 0) or 0)

    def subjects(self) -> list[str]:
        """Every subject with a record here (lets the purge re-apply destructions after a restore)."""
        with self.session() as session:
            return [str(v) for v in session.scalars(sa.select(self.subject_column).distinct())]

    def find(self, item: str, value: str) -> list[str]:
        column = self.items.get(item)
        if column is None:
            return []
        with self.session() as session:
            rows = session.execute(sa.select(self.subject_column).where(self.columns[column] == value))
            return [str(r[0]) for r in rows]
