"""Schema upgrades of both databases with the Alembic migrations shipped in the package.

Each database keeps its own version table (``privacy_alembic_version``) so the
extension's migrations never mix with the host's own Alembic history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ..policy.model import Policy
from .engines import Databases
from .tables import record_policy_version

__all__ = ["VERSION_TABLE", "UpgradeResult", "current_revision", "head_revision", "upgrade_all", "upgrade_database"]

VERSION_TABLE = "privacy_alembic_version"
SCRIPT_LOCATIONS = {
    "main": "flask_casenote_privacy.storage:migrations/main",
    "archive": "flask_casenote_privacy.storage:migrations/archive",
}


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


def upgrade_database(engine: Engine, which: str) -> UpgradeResult:
    """Bring one database ("main" or "archive") to the newest schema; safe to repeat."""
    before = current_revision(engine)
    config = _config(which)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return UpgradeResult(which, before, current_revision(engine))


def upgrade_all(databases: Databases, policy: Policy, now: datetime) -> list[UpgradeResult]:
    """Upgrade the main and the archive database, then record the policy text in force."""
    results = [upgrade_database(databases.main, "main"), upgrade_database(databases.archive, "archive")]
    with databases.main.begin() as conn:
        record_policy_version(conn, policy, now)
    return results
