"""Small helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from flask_casenote_privacy.storage.tables import access_log, consent_events

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def access_rows(app: Flask) -> list[dict[str, Any]]:
    privacy = app.extensions["privacy"]
    with app.app_context():
        assert privacy.flush(timeout=30)
        with privacy.services.databases.main.connect() as conn:
            return [dict(r) for r in conn.execute(select(access_log).order_by(access_log.c.id)).mappings()]


def ledger_rows(app: Flask) -> list[dict[str, Any]]:
    privacy = app.extensions["privacy"]
    with app.app_context(), privacy.services.databases.main.connect() as conn:
        return [dict(r) for r in conn.execute(select(consent_events).order_by(consent_events.c.id)).mappings()]


def add_routes(app: Flask, subject_header: str = "X-Test-Subject") -> None:
    """A search route, and a subject taken from a test header (stands in for a login)."""
    from flask import request

    @app.get("/search")
    def search() -> str:
        return "results"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    privacy = app.extensions["privacy"]

    @privacy.subject_loader
    def subject() -> str | None:
        return request.headers.get(subject_header)


def record_deliverers(writer: Any) -> list[str]:
    """Spy on an AccessLogWriter: the names of the threads that deliver its batches,
    one per batch, in order."""
    import threading

    names: list[str] = []
    deliver = writer._deliver

    def spy(batch: list[dict[str, Any]], *, replay: bool = True) -> None:
        names.append(threading.current_thread().name)
        deliver(batch, replay=replay)

    writer._deliver = spy
    return names
