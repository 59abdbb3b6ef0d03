"""Both databases are created and upgraded by the shipped Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import URL

from flask_casenote_privacy.storage import archive_tables, tables
from flask_casenote_privacy.storage.migrate import VERSION_TABLE, current_revision, head_revision
from flask_casenote_privacy.storage.partitions import ARCHIVE, MONTH_ROWS, is_partition_name


def test_db_upgrade_creates_both_databases_and_is_safe_to_run_twice(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    main, archive_url = database_urls
    app = make_app(upgrade=False, PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive_url)
    runner = app.test_cli_runner()
    privacy = app.extensions["privacy"]

    first = runner.invoke(args=["privacy", "db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "main database" in first.output and "empty -> main_0016" in first.output
    assert "archive database" in first.output and "empty -> archive_0006" in first.output

    second = runner.invoke(args=["privacy", "db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert "at main_0016" in second.output and "at archive_0006" in second.output

    with app.app_context():
        assert current_revision(privacy.services.databases.main) == head_revision("main")
        assert current_revision(privacy.services.databases.archive) == head_revision("archive")
        with privacy.services.databases.main.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(tables.policy_versions)).scalar_one()
        assert rows == 1  # the policy text is recorded once, not once per upgrade


def test_migrated_schema_matches_the_table_definitions(backend_app: Flask) -> None:
    privacy = backend_app.extensions["privacy"]
    with backend_app.app_context():
        for engine, metadata in (
            (privacy.services.databases.main, tables.metadata),
            (privacy.services.databases.archive, archive_tables.metadata),
        ):
            with engine.connect() as conn:
                opts = {"version_table": VERSION_TABLE, "include_name": _not_a_partition}
                context = MigrationContext.configure(conn, opts=opts)
                diff = [d for d in compare_metadata(context, metadata) if not _is_version_table(d)]
            if engine.dialect.name == "postgresql":
                diff = [d for d in diff if not _is_partition_key(d)]
            assert diff == []


def _not_a_partition(name: str | None, type_: str, parents: object) -> bool:
    """The access log's monthly partitions (PostgreSQL) are no table of their own, and
    their row counts (main_0016) are no model's: PostgreSQL alone has them."""
    return not (type_ == "table" and (is_partition_name(name) or name in (MONTH_ROWS, ARCHIVE.month_rows)))


def _is_partition_key(diff: object) -> bool:
    """main_0015: PostgreSQL needs the partition key in every unique key, so the
    access log's event_id is unique with its expires_at there (docs/purge.md)."""
    if not (isinstance(diff, tuple) and diff[0] in ("add_constraint", "remove_constraint")):
        return False
    constraint = diff[1]
    columns = {c.name for c in constraint.columns}
    if constraint.table.name == "privacy_archived_record":  # archive_0006, the same
        return columns in ({"source", "record_key"}, {"source", "record_key", "expires_at"})
    return constraint.table.name == "privacy_access_log" and columns in ({"event_id"}, {"event_id", "expires_at"})


def _is_version_table(diff: object) -> bool:
    return isinstance(diff, tuple) and getattr(diff[1], "name", None) == VERSION_TABLE


def test_own_version_table_leaves_the_hosts_alembic_history_alone(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    main, archive_url = database_urls
    engine = create_engine(main)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('host_rev_42')"))
    make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "host_rev_42"
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "main_0016"
    names = set(inspect(engine).get_table_names())
    assert {"privacy_policy_version", VERSION_TABLE, "alembic_version"} <= names
    engine.dispose()


def test_a_changed_policy_text_is_recorded_as_a_new_version(
    make_app: Callable[..., Flask],
    tmp_path,
    database_urls: tuple[URL, URL],  # type: ignore[no-untyped-def]
) -> None:
    from importlib import resources

    main, archive_url = database_urls
    make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive_url)
    preset = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text("utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text(preset.replace('version = "2026-11-28"', 'version = "2027-01-01"'), encoding="utf-8")
    app = make_app(PRIVACY_POLICY=str(changed), PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive_url)
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        versions = conn.execute(
            select(tables.policy_versions.c.version).order_by(tables.policy_versions.c.id)
        ).scalars()
        assert list(versions) == ["2026-11-28", "2027-01-01"]


def test_auto_upgrade_creates_the_tables_at_init(make_app: Callable[..., Flask], tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(upgrade=False, PRIVACY_AUTO_UPGRADE=True)
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'privacy.sqlite'}")
    assert "privacy_policy_version" in inspect(engine).get_table_names()
    engine.dispose()
    assert (tmp_path / "instance" / "privacy-archive.sqlite").exists()
    assert app.extensions["privacy"]


def test_main_0007_adds_an_empty_decided_by_to_existing_requests_and_downgrades_keeping_them(
    database_urls: tuple[URL, URL],
) -> None:
    from datetime import datetime, timezone

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert

    from flask_casenote_privacy.storage.migrate import SCRIPT_LOCATIONS, upgrade_database

    engine = create_engine(database_urls[0])
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATIONS["main"])

    def migrate(step: Callable[..., None], revision: str) -> None:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            step(config, revision)

    migrate(command.upgrade, "main_0006")
    now = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
    row = {
        "id": "a" * 32,
        "subject": "41",
        "kind": "delete",
        "scope": "all",
        "channel": "written",
        "status": "refused",
        "received_at": now,
        "due_at": now,
        "completed_at": now,
    }
    with engine.begin() as conn:  # a request decided before main_0007: no decided_by column yet
        conn.execute(insert(tables.requests).values(row))
    assert upgrade_database(engine, "main").after == "main_0016"
    with engine.connect() as conn:
        stored = conn.execute(select(tables.requests.c.id, tables.requests.c.decided_by)).one()
    assert tuple(stored) == ("a" * 32, None)  # who decided it was never recorded: unknown, not invented

    migrate(command.downgrade, "main_0006")
    assert "decided_by" not in {c["name"] for c in inspect(engine).get_columns("privacy_request")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM privacy_request")).scalar_one() == "a" * 32
    engine.dispose()
