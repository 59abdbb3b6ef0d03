"""Schema upgrades of both databases with the Alembic migrations shipped in the package.

Each database keeps its own version table (``privacy_alembic_version``) so the
extension's migrations never mix with the host's own Alembic history; and
:func:`exclude_privacy_tables` keeps the host's autogenerate away from the
extension's tables when both share one database.
"""

from __future__ import annotations

import fcntl
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
from .tables import record_policy_version

__all__ = [
    "PRIVACY_TABLES",
    "VERSION_TABLE",
    "UpgradeResult",
    "current_revision",
    "exclude_privacy_tables",
    "head_revision",
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
PRIVACY_TABLES = frozenset({VERSION_TABLE, *tables.metadata.tables, *archive_tables.metadata.tables})


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
    return not (type_ == "table" and name in PRIVACY_TABLES)


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
    backend = engine.dialect.name
    if backend == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.upgrade-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    params: dict[str, object]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            release, params = text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
        else:
            got = conn.execute(text("SELECT GET_LOCK(:name, :wait)"), {"name": LOCK_NAME, "wait": LOCK_TIMEOUT})
            if got.scalar() != 1:
                raise TimeoutError(f"another process held the upgrade lock for {LOCK_TIMEOUT} s")
            release, params = text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME}
        try:
            yield
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
    """Upgrade the main and the archive database, then record the policy text in force."""
    results = [upgrade_database(databases.main, "main"), upgrade_database(databases.archive, "archive")]
    with exclusive(databases.main), databases.main.begin() as conn:
        record_policy_version(conn, policy, now)
    return results
