"""A host sharing its database with the extension keeps its own Flask-Migrate
history: with ``exclude_privacy_tables`` its autogenerate proposes nothing about
the privacy tables (nor their version table) and still sees its own changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from flask_casenote_privacy.storage import tables
from flask_casenote_privacy.storage.migrate import VERSION_TABLE

pytestmark = pytest.mark.slow  # every step is a `flask` subprocess, as the host runs it

ROOT = Path(__file__).resolve().parents[1]
MAIN_TABLES = sorted([*tables.metadata.tables, VERSION_TABLE])


class Host:
    def __init__(self, database_urls: tuple[URL, URL], tmp_path: Path) -> None:
        main, archive = database_urls
        self.main = main
        self.versions = tmp_path / "migrations" / "versions"
        self.env = {
            **os.environ,
            "HOST_DATABASE_URI": main.render_as_string(hide_password=False),
            "HOST_ARCHIVE_URI": archive.render_as_string(hide_password=False),
            "HOST_MIGRATIONS": str(tmp_path / "migrations"),
            "HOST_INSTANCE": str(tmp_path / "instance"),
        }

    def flask(self, *args: str, **env: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tests.migrate_host:create_app", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    def autogenerate(self, message: str, **env: str) -> str:
        """``flask db migrate``; the text of the revision it wrote."""
        before = set(self.versions.glob("*.py"))
        self.flask("db", "migrate", "-m", message, **env)
        [script] = set(self.versions.glob("*.py")) - before
        return script.read_text()

    def table_names(self) -> set[str]:
        engine = create_engine(self.main)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def column_names(self, table: str) -> set[str]:
        engine = create_engine(self.main)
        try:
            return {c["name"] for c in inspect(engine).get_columns(table)}
        finally:
            engine.dispose()


def test_the_hosts_autogenerate_leaves_the_privacy_tables_alone_and_sees_its_own_changes(
    database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    host = Host(database_urls, tmp_path)
    host.flask("db", "init")
    host.flask("privacy", "db", "upgrade")
    assert set(MAIN_TABLES) <= host.table_names()

    # The problem: a host without the filter is offered to drop every privacy table.
    unfiltered = host.autogenerate("unfiltered", HOST_FILTER="0")
    for table in MAIN_TABLES:
        assert f"op.drop_table('{table}')" in unfiltered
    next(host.versions.glob("*_unfiltered.py")).unlink()

    first = host.autogenerate("notes")
    assert "op.create_table('host_notes'" in first
    assert "privacy_" not in first
    host.flask("db", "upgrade")
    assert {"host_notes", "alembic_version", *MAIN_TABLES} <= host.table_names()

    second = host.autogenerate("note body", HOST_STAGE="2")
    assert "'host_notes'" in second and "sa.Column('body'" in second
    assert "privacy_" not in second
    host.flask("db", "upgrade", HOST_STAGE="2")
    assert "body" in host.column_names("host_notes")
    # The extension's own history is where `privacy db upgrade` left it.
    assert "at main_" in host.flask("privacy", "db", "upgrade")
