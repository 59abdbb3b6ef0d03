"""The spool is bound to its database: two configurations sharing a spool
directory never write each other's events, and a database that answers without
the privacy tables is told to be upgraded (once) instead of "unreachable",
its events kept in its own spool until then.

Everything here uses real databases: SQLite files, and the configured servers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import URL, make_url

from flask_casenote_privacy.capture.spool import database_tag
from flask_casenote_privacy.storage.tables import access_log

RETRY = 0.05  # PRIVACY_WRITER_RETRY_SECONDS: short, so that each batch tries the database again


def _app(make_app: Callable[..., Flask], main: URL, archive: URL, spool: Path, *, upgrade: bool, route: str) -> Flask:
    app = make_app(
        upgrade=upgrade,
        PRIVACY_DATABASE_URI=main,
        PRIVACY_ARCHIVE_DATABASE_URI=archive,
        PRIVACY_SPOOL_DIR=str(spool),
        PRIVACY_WRITER_RETRY_SECONDS=RETRY,
    )
    app.add_url_rule(route, route, lambda: "ok")
    return app


def _visit(app: Flask, route: str, n: int) -> None:
    """``n`` requests, each its own batch, each after the retry pause."""
    client = app.test_client()
    for _ in range(n):
        assert client.get(route).status_code == 200
        with app.app_context():
            assert app.extensions["privacy"].flush(timeout=15)
        time.sleep(RETRY * 2)


def _paths(app: Flask) -> list[str]:
    with app.app_context(), app.extensions["privacy"].services.databases.main.connect() as conn:
        return sorted(conn.execute(select(access_log.c.path)).scalars())


def _spooled(spool: Path, tag: str | None = None) -> list[str]:
    """Paths of the events in the spool (of one database's tag, or all)."""
    files = spool.glob(f"access-{tag}-*.jsonl*" if tag else "access-*.jsonl*") if spool.is_dir() else []
    return sorted(json.loads(line)["path"] for f in files for line in f.read_text().splitlines())


def _tag(app: Flask) -> str:
    with app.app_context():
        return str(app.extensions["privacy"]._state().writer.spool_tag)


def _wait(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _upgrade(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["privacy", "db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_two_configurations_sharing_a_spool_directory_never_write_each_others_events(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    spool = tmp_path / "shared-spool"

    def sqlite(name: str) -> URL:
        return URL.create("sqlite", database=str(tmp_path / name))

    # A test configuration whose database was never upgraded, and a working development one.
    testing = _app(make_app, sqlite("test.sqlite"), sqlite("test-archive.sqlite"), spool, upgrade=False, route="/t")
    development = _app(make_app, sqlite("dev.sqlite"), sqlite("dev-archive.sqlite"), spool, upgrade=True, route="/d")
    assert _tag(testing) != _tag(development)

    _visit(testing, "/t", 4)
    assert _spooled(spool) == ["/t"] * 4  # kept, bound to test.sqlite

    # The development server writes and replays: its own events only.
    _visit(development, "/d", 3)
    time.sleep(RETRY * 4)  # room for a replay it must not do
    assert _paths(development) == ["/d"] * 3
    assert _spooled(spool, _tag(testing)) == ["/t"] * 4

    # Once its database is upgraded, the test configuration gets its own events back.
    _upgrade(testing)
    _visit(testing, "/t", 1)
    _wait(lambda: len(_paths(testing)) == 5 and not _spooled(spool))
    assert _paths(testing) == ["/t"] * 5
    assert _paths(development) == ["/d"] * 3


def test_a_database_without_tables_is_told_to_upgrade_once_and_its_events_wait_in_its_spool(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    main, archive = database_urls
    spool = tmp_path / "spool"
    app = _app(make_app, main, archive, spool, upgrade=False, route="/page")
    caplog.set_level(logging.INFO, logger="flask_casenote_privacy.writer")

    _visit(app, "/page", 3)  # three batches, three failed writes

    said = [r for r in caplog.records if r.name == "flask_casenote_privacy.writer"]
    errors = [r.getMessage() for r in said if r.levelno == logging.ERROR]
    assert len(errors) == 1, errors  # once, not once per batch
    assert "has no privacy_access_log table: run `flask privacy db upgrade`" in errors[0]
    assert main.render_as_string(hide_password=True) in errors[0]
    assert f"kept in the spool {spool}" in errors[0] and f"access-{_tag(app)}-*.jsonl" in errors[0]
    assert not [r for r in said if "unreachable" in r.getMessage()]  # told apart from an outage
    assert _spooled(spool, _tag(app)) == ["/page"] * 3  # not lost

    _upgrade(app)
    _visit(app, "/page", 1)
    _wait(lambda: len(_paths(app)) == 4 and not _spooled(spool))
    assert any("has its tables now" in r.getMessage() for r in caplog.records)


def test_spool_files_of_an_older_version_name_no_database_and_are_left_alone_with_a_warning(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    old = spool / "access-4242-1700000000000000000.jsonl"
    old.write_text('{"event_id": "e1", "path": "/old"}\n', encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="flask_casenote_privacy.writer")

    main = URL.create("sqlite", database=str(tmp_path / "main.sqlite"))
    app = _app(
        make_app, main, URL.create("sqlite", database=str(tmp_path / "a.sqlite")), spool, upgrade=True, route="/p"
    )
    _visit(app, "/p", 2)

    assert old.exists() and _paths(app) == ["/p"] * 2
    [warning] = [r.getMessage() for r in caplog.records if "older version" in r.getMessage()]
    assert f"access-{_tag(app)}-<pid>-<n>.jsonl" in warning


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql+psycopg://app:one@db.internal/privacy", "postgresql://purge:two@db.internal:5432/privacy"),
        ("mysql+pymysql://root@maria/privacy", "mariadb+pymysql://app:x@maria:3306/privacy"),
    ],
    ids=["two-pg-drivers", "two-mysql-dialect-names"],  # no backend name: these touch no server
)
def test_the_spool_tag_names_the_database_whatever_the_driver_and_credentials(a: str, b: str) -> None:
    assert database_tag(make_url(a)) == database_tag(make_url(b))


def test_the_spool_tag_differs_for_another_database_host_or_file(tmp_path: Path, monkeypatch: Any) -> None:
    base = make_url("postgresql://app@db.internal/privacy")
    tags = {
        database_tag(url)
        for url in (
            base,
            base.set(database="privacy_test"),
            base.set(host="db2.internal"),
            base.set(port=5433),
            URL.create("sqlite", database=str(tmp_path / "dev.sqlite")),
            URL.create("sqlite", database=str(tmp_path / "test.sqlite")),
        )
    }
    assert len(tags) == 6
    monkeypatch.chdir(tmp_path)  # the same file by a relative name is the same database
    assert database_tag(URL.create("sqlite", database="dev.sqlite")) == database_tag(
        URL.create("sqlite", database=str(tmp_path / "dev.sqlite"))
    )
