"""Capture fails closed when the consent ledger or the policy history cannot be read
(a real database whose table is renamed away, on SQLite, PostgreSQL and MariaDB):
a purpose a member had stopped is not captured again, and a consent given under an
older policy version does not count while no lapse is known. The access log the
law requires (the `security` purpose, a legal obligation) is still kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import URL

from flask_casenote_privacy.rights.partial import suspend_purposes
from tests.helpers import access_rows, add_routes


@contextmanager
def table_away(app: Flask, table: str) -> Iterator[None]:
    """``table`` of the main database renamed away (unreadable) inside the block."""
    engine = app.extensions["privacy"].services.databases.main
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def site(make_app: Callable[..., Flask], database_urls: tuple[URL, URL]) -> Flask:
    main, archive = database_urls
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive)
    add_routes(app)
    return app


def test_a_stopped_purpose_is_not_captured_again_while_the_ledger_is_unreadable(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    app = site(make_app, database_urls)
    with app.app_context():
        assert suspend_purposes(app.extensions["privacy"].services, "41", ["user_protection"]) == ["user_protection"]
    client = app.test_client()
    client.get("/search", headers={"X-Test-Subject": "41"})
    assert "user_protection" not in access_rows(app)[-1]["purposes"]  # the ledger read: stopped

    with table_away(app, "privacy_consent_event"):
        client.get("/search", headers={"X-Test-Subject": "41"})
        client.get("/search", headers={"X-Test-Subject": "42"})  # no stop of theirs: unknown as well
    for row in access_rows(app)[-2:]:
        purposes = row["purposes"]
        assert "user_protection" not in purposes and "member_management" not in purposes  # may be stopped
        assert "security" in purposes and row["ip"] is not None  # a legal obligation: still logged
        assert "statistics_advertising" not in purposes  # no consent read

    client.get("/search", headers={"X-Test-Subject": "42"})  # the ledger back: as before
    assert "user_protection" in access_rows(app)[-1]["purposes"]


def test_a_consent_under_an_older_policy_version_does_not_count_while_no_lapse_is_known(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL]
) -> None:
    app = site(make_app, database_urls)
    services = app.extensions["privacy"].services
    policy = services.policy
    fingerprint = policy.purpose("statistics_advertising").fingerprint

    def cookie(version: str) -> str:
        payload = {"v": version, "p": {"statistics_advertising": [True, fingerprint]}}
        return str(services.consent_cookie.serializer.dumps(payload))

    client: Any = app.test_client()
    name = services.consent_cookie.name
    with table_away(app, "privacy_policy_version"):
        client.set_cookie(name, cookie("2020-01-01"))
        client.get("/search")
        older = access_rows(app)[-1]["purposes"]
        client.set_cookie(name, cookie(policy.version))
        client.get("/search")
        current = access_rows(app)[-1]["purposes"]
        assert "statistics_advertising" not in older  # may have lapsed: not counted
        assert "statistics_advertising" in current  # given under the version in force: counts
        with app.app_context():
            assert services.consent_lapses() != ()  # never "nothing lapsed" unread
