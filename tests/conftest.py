"""Fixtures: apps on real databases (SQLite files always; PostgreSQL and MariaDB
when their URLs are given), a CLI runner, and a controllable clock.

    PRIVACY_TEST_POSTGRESQL_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    PRIVACY_TEST_MARIADB_URL=mysql+pymysql://root@127.0.0.1:3306/test
    PRIVACY_TEST_REQUIRE_BACKENDS=postgresql,mariadb   # CI: fail instead of skip

Each server backend gets two scratch databases per test session (main and
archive), emptied before every test that uses them.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from flask_casenote_privacy import Privacy
from flask_casenote_privacy.storage.partitions import is_partition_name

SERVER_ENV = {"postgresql": "PRIVACY_TEST_POSTGRESQL_URL", "mariadb": "PRIVACY_TEST_MARIADB_URL"}
BACKENDS = ["sqlite", *SERVER_ENV]
REQUIRED = {b for b in os.environ.get("PRIVACY_TEST_REQUIRE_BACKENDS", "").split(",") if b}
_outcomes: Counter[tuple[str, str]] = Counter()


class Clock:
    """A clock the tests move by hand: ``clock.set("2026-11-30T12:00:00+09:00")``."""

    def __init__(self, start: str = "2026-11-28T12:00:00+09:00") -> None:
        self.value = datetime.fromisoformat(start)

    def set(self, when: str | datetime) -> None:
        self.value = datetime.fromisoformat(when) if isinstance(when, str) else when

    def advance(self, **delta: float) -> None:
        """Move on by ``timedelta(**delta)``: ``clock.advance(days=3, seconds=1)``."""
        self.value += timedelta(**delta)

    def __call__(self) -> datetime:
        return self.value.astimezone(timezone.utc)


class ServerDatabases:
    """Creates two scratch databases on a server once, and empties them per test."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.urls: tuple[URL, URL] | None = None
        self.error: str | None = None
        raw = os.environ.get(SERVER_ENV[backend])
        if not raw:
            self.error = f"{SERVER_ENV[backend]} is not set"
            return
        self.server = make_url(raw)
        suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
        names = (f"privacy_test_main_{suffix}", f"privacy_test_archive_{suffix}")
        try:
            engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for name in names:
                    conn.execute(text(f"CREATE DATABASE {name}"))
            engine.dispose()
        except OperationalError as exc:
            self.error = f"{backend} at {self.server.render_as_string()} is unreachable: {exc.orig}"
            return
        self.names = names
        self.urls = (self.server.set(database=names[0]), self.server.set(database=names[1]))

    def fresh(self) -> tuple[URL, URL]:
        assert self.urls is not None
        for url in self.urls:
            engine = create_engine(url)
            meta = MetaData()
            # A partition (PostgreSQL, main_0015) goes with its parent, never on its own.
            meta.reflect(engine, only=lambda name, _meta: not is_partition_name(name))
            with engine.begin() as conn:
                if self.backend == "mariadb":
                    conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
                meta.drop_all(conn)
            engine.dispose()
        return self.urls

    def drop(self) -> None:
        if self.urls is None:
            return
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.names:
                if self.backend == "postgresql":
                    conn.execute(
                        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                        {"n": name},
                    )
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, ServerDatabases]]:
    made: dict[str, ServerDatabases] = {}
    yield made
    for server in made.values():
        server.drop()


@pytest.fixture(params=BACKENDS)
def database_urls(
    request: pytest.FixtureRequest, servers: dict[str, ServerDatabases], tmp_path: Any
) -> tuple[URL, URL]:
    """(main, archive) URLs of two empty databases on each backend in turn."""
    backend = request.param
    if backend == "sqlite":
        return (
            URL.create("sqlite", database=str(tmp_path / "privacy.sqlite")),
            URL.create("sqlite", database=str(tmp_path / "privacy-archive.sqlite")),
        )
    if backend not in servers:
        servers[backend] = ServerDatabases(backend)
    server = servers[backend]
    if server.urls is None:
        if backend in REQUIRED:
            pytest.fail(f"required backend unavailable: {server.error}")
        pytest.skip(server.error or backend)
    return server.fresh()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(tmp_path: Any, clock: Clock) -> Iterator[Callable[..., Flask]]:
    """Build an app with the extension; keyword arguments become config."""
    made: list[Flask] = []

    def factory(*, upgrade: bool = True, privacy_kwargs: dict[str, Any] | None = None, **config: Any) -> Flask:
        app = Flask("testapp", instance_path=str(tmp_path / "instance"))
        app.config.update(TESTING=True, SECRET_KEY="test-secret-key")
        app.config.update(config)
        privacy = Privacy(app, clock=clock, **(privacy_kwargs or {}))
        made.append(app)  # keeps the app (and so its state) alive until teardown
        if upgrade:
            with app.app_context():
                privacy.upgrade()
        return app

    yield factory
    for app in made:
        app.extensions["privacy"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app on SQLite files in tmp_path."""
    return make_app()


@pytest.fixture
def backend_app(make_app: Callable[..., Flask], database_urls: tuple[URL, URL]) -> Flask:
    """An app on each backend in turn (SQLite, PostgreSQL, MariaDB)."""
    main, archive = database_urls
    return make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive)


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def privacy(app: Flask) -> Privacy:
    return app.extensions["privacy"]  # type: ignore[no-any-return]


# -- CI guard: a required backend must have run, not skipped -------------------
def _record_backend_outcome(report: pytest.TestReport) -> None:
    for backend in SERVER_ENV:
        if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid or f"-{backend}-" in report.nodeid:
            if report.when == "call" or report.outcome == "skipped":
                _outcomes[(backend, report.outcome)] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller sees every worker's reports and decides
    problems = [f"the {leak}" for leak in _leaks]
    for backend in sorted(REQUIRED):
        if _outcomes[(backend, "skipped")]:
            problems.append(f"{_outcomes[(backend, 'skipped')]} {backend} test(s) were skipped")
        if not _outcomes[(backend, "passed")]:
            problems.append(f"no {backend} test passed")
    if problems and session.testscollected:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("the suite must fail: " + "; ".join(problems), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# -- a real SMTP server on loopback ---------------------------------------------------
class Outbox:
    """Messages received by the loopback SMTP server."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "from": envelope.mail_from,
                "message": message,
                "subject": str(message["Subject"]),
                "body": message.get_content(),
            }
        )
        return "250 OK"

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp() -> Iterator[tuple[str, int, Outbox]]:
    """(host, port, outbox) of an aiosmtpd server on 127.0.0.1."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outbox = Outbox()
    controller = Controller(outbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, outbox
    finally:
        controller.stop()


# -- the whole run's captured output must not hold the probe values -------------------------------
# Tests send these through requests, headers, logs and mails; whatever the suite
# captured (stdout, stderr, log records) is scanned after every test.
LOG_PROBES = {
    "probe email": "probe.member@example.kr",
    "resident registration number": "900101-1234567",
    "card number": "4111111111111111",
}
_leaks: list[str] = []
_failed_calls: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record_backend_outcome(report)
    if report.when == "call" and report.failed:
        _failed_calls.add(report.nodeid)  # its own assertion message may quote a probe
    if report.when == "teardown" and report.nodeid not in _failed_calls:
        for title, text in report.sections:
            for what, probe in LOG_PROBES.items():
                if probe in text:
                    _leaks.append(f"{report.nodeid} ({title}): the {what}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts = ", ".join(
        f"{backend}: {_outcomes[(backend, 'passed')]} passed, {_outcomes[(backend, 'skipped')]} skipped"
        for backend in SERVER_ENV
    )
    terminalreporter.write_line(f"database backends -- {counts}")
    terminalreporter.write_line(f"captured output scanned for probe values: {len(_leaks)} leak(s)")
    for leak in _leaks:
        terminalreporter.write_line(f"  LEAK {leak}", red=True)


# -- a member site (tests/member_site.py) on each backend ------------------------------------------
MEMBER_SITE_START = "2026-12-10T10:00:00+09:00"


@pytest.fixture
def make_site(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Any, smtp: Any, clock: Clock
) -> Iterator[Callable[..., Any]]:
    """Build member sites (CSRF on, mail to the loopback server) with members 41
    (a payment of 2026-11-30) and 42; keyword arguments become config."""
    from tests.member_site import PROBE_EMAIL, Site, build_site

    sites: list[Site] = []

    def factory(start: str = MEMBER_SITE_START, **config: Any) -> Site:
        clock.set(start)
        site = build_site(make_app, database_urls, tmp_path, smtp, **config)
        site.add_member(41, "김민지", PROBE_EMAIL, [("2026-11-30T23:30:00+09:00", 19900)])
        site.add_member(42, "이서준", "other.member@example.kr", [])
        sites.append(site)
        return site

    yield factory
    for site in sites:
        site.close()
