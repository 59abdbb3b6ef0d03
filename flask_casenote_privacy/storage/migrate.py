"""Schema upgrades of both databases with the Alembic migrations shipped in the package.

Each database keeps its own version table (``privacy_alembic_version``) so the
extension's migrations never mix with the host's own Alembic history; and
:func:`exclude_privacy_tables` keeps the host's autogenerate away from the
extension's tables when both share one database.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from ..policy.model import Policy
from . import archive_tables, tables
from .engines import Databases
from .partitions import ARCHIVE, MONTH_ROWS, ensure_partitions, is_partition_name
from .tables import record_policy_version

__all__ = [
    "PRIVACY_TABLES",
    "VERSION_TABLE",
    "UpgradeResult",
    "current_revision",
    "exclude_privacy_tables",
    "head_revision",
    "try_exclusive",
    "upgrade_all",
    "upgrade_database",
]

VERSION_TABLE = "privacy_alembic_version"
SCRIPT_LOCATIONS = {
    "main": "flask_casenote_privacy.storage:migrations/main",
    "archive": "flask_casenote_privacy.storage:migrations/archive",
}
# Every table the extension's migrations create, in either database, and their version table.
# Named exactly rather than by the "privacy_" prefix, so that a host table of that
# prefix stays the host's to migrate.
PRIVACY_TABLES = frozenset(
    {VERSION_TABLE, MONTH_ROWS, ARCHIVE.month_rows, *tables.metadata.tables, *archive_tables.metadata.tables}
)


def exclude_privacy_tables(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic ``include_name`` hook for a host whose database also holds the privacy tables.

    The host's autogenerate (``flask db migrate``) sees tables its own models do
    not declare and proposes dropping them; this hides the extension's tables,
    their indexes and ``privacy_alembic_version`` from it, and nothing else::

        from flask_casenote_privacy import exclude_privacy_tables

        migrate = Migrate(app, db, include_name=exclude_privacy_tables)

    (or ``context.configure(..., include_name=exclude_privacy_tables)`` in a plain
    Alembic ``env.py``). The extension's schema stays with ``flask privacy db upgrade``.
    """
    return not (type_ == "table" and (name in PRIVACY_TABLES or is_partition_name(name)))


@dataclass(frozen=True)
class UpgradeResult:
    database: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config(which: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATIONS[which])
    return config


def head_revision(which: str) -> str | None:
    return ScriptDirectory.from_config(_config(which)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


# Several processes or hosts may upgrade at once (gunicorn workers that each call
# privacy.upgrade() at start, a deploy on every host): one at a time per database.
LOCK_NAME = "flask_casenote_privacy.upgrade"
LOCK_KEY = 0x70726976  # PostgreSQL advisory lock key: "priv"
LOCK_TIMEOUT = 600  # seconds a second upgrader waits for the first


@contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    """Hold the database's upgrade lock: an advisory lock on PostgreSQL, ``GET_LOCK`` on
    MariaDB/MySQL, a file lock beside an SQLite file (an in-memory one needs none)."""
    with _database_lock(engine, LOCK_NAME, LOCK_KEY, "upgrade-lock", wait=True):
        yield


@contextmanager
def try_exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Take the lock ``name`` on the database without waiting: yields True while it is
    held, or False at once if another process (on any host) holds it. The worker's
    jobs: one process at a time runs each. ``pg_try_advisory_lock`` on PostgreSQL,
    ``GET_LOCK(name, 0)`` on MariaDB/MySQL, a non-blocking ``flock`` on a file beside
    an SQLite file (an in-memory one is always free)."""
    key = (LOCK_KEY << 32) | zlib.crc32(name.encode())  # never the upgrade's key
    with _database_lock(engine, name[:64], key, f"{name}-lock", wait=False) as got:
        yield got


@contextmanager
def _database_lock(engine: Engine, name: str, key: int, file_suffix: str, *, wait: bool) -> Iterator[bool]:
    backend = engine.dialect.name
    if backend == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            yield True
            return
        with open(f"{path}.{file_suffix}", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    params: dict[str, object]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "postgresql":
            take = "SELECT pg_advisory_lock(:key)" if wait else "SELECT pg_try_advisory_lock(:key)"
            got = conn.execute(text(take), {"key": key}).scalar() is not False  # pg_advisory_lock: void
            release, params = text("SELECT pg_advisory_unlock(:key)"), {"key": key}
        else:
            timeout = LOCK_TIMEOUT if wait else 0
            got = conn.execute(text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": timeout}).scalar() == 1
            if wait and not got:
                raise TimeoutError(f"another process held the lock {name} for {LOCK_TIMEOUT} s")
            release, params = text("SELECT RELEASE_LOCK(:name)"), {"name": name}
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            conn.execute(release, params)


def upgrade_database(engine: Engine, which: str) -> UpgradeResult:
    """Bring one database ("main" or "archive") to the newest schema; safe to repeat,
    and to run from several processes at once (each waits for the one before)."""
    with exclusive(engine):
        before = current_revision(engine)
        config = _config(which)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return UpgradeResult(which, before, current_revision(engine))


def upgrade_all(databases: Databases, policy: Policy, now: datetime) -> list[UpgradeResult]:
    """Upgrade the main and the archive database, record the policy text in force, and
    (PostgreSQL) create the access log's partitions for this and the next 3 months."""
    results = [upgrade_database(databases.main, "main"), upgrade_database(databases.archive, "archive")]
    with exclusive(databases.main):
        with databases.main.begin() as conn:
            record_policy_version(conn, policy, now)
        ensure_partitions(databases.main, now)  # PostgreSQL: the access log's coming months
    return results
