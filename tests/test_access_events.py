"""Where access events go (PRIVACY_ACCESS_EVENTS: the database, the log, or both),
and the redaction of capture's own ``http.access`` event: the fields capture
computed or redacted itself are not visited twice, everything else still is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from flask import Flask
from structlog.typing import EventDict

from flask_casenote_privacy import ConfigurationError
from flask_casenote_privacy.capture.hooks import PRE_REDACTED_FIELDS
from flask_casenote_privacy.logging import processors
from flask_casenote_privacy.redact import redact_text
from tests.helpers import access_rows, add_routes

EMAIL = "kim.minsu@example.com"
CARD = "4111 1111 1111 1111"
RRN = "900101-1234568"
PHONE = "01012345678"


@pytest.fixture
def logged() -> Iterator[list[EventDict]]:
    """Events through a host chain: contextvars, the privacy processors, then kept."""
    captured: list[EventDict] = []

    def keep(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        captured.append(dict(event_dict))
        raise structlog.DropEvent

    structlog.configure(processors=[structlog.contextvars.merge_contextvars, *processors(), keep])
    try:
        yield captured
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()


def _access(events: list[EventDict]) -> EventDict:
    found = [e for e in events if e["event"] == "http.access"]
    assert len(found) == 1, events
    return found[0]


# -- PRIVACY_ACCESS_EVENTS ---------------------------------------------------------------
def test_access_events_to_the_database_store_the_row_and_log_no_event(
    make_app: Callable[..., Flask], logged: list[EventDict]
) -> None:
    app = make_app(PRIVACY_ACCESS_EVENTS="database")
    add_routes(app)
    assert app.test_client().get("/search?q=x").status_code == 200
    assert [e for e in logged if e["event"] == "http.access"] == []
    assert [r["path"] for r in access_rows(app)] == ["/search"]


def test_access_events_to_the_log_log_the_event_and_store_no_row(
    make_app: Callable[..., Flask], logged: list[EventDict]
) -> None:
    app = make_app(PRIVACY_ACCESS_EVENTS="log")
    add_routes(app)
    assert app.test_client().get("/search?q=x").status_code == 200
    assert _access(logged)["path"] == "/search"
    assert access_rows(app) == []


def test_access_events_default_to_both(make_app: Callable[..., Flask], logged: list[EventDict]) -> None:
    app = make_app()
    add_routes(app)
    app.test_client().get("/search?q=x")
    assert _access(logged)["path"] == "/search"
    assert len(access_rows(app)) == 1


def test_log_access_false_still_means_the_database_only(
    make_app: Callable[..., Flask], logged: list[EventDict]
) -> None:
    app = make_app(PRIVACY_LOG_ACCESS=False)
    add_routes(app)
    app.test_client().get("/search?q=x")
    assert [e for e in logged if e["event"] == "http.access"] == []
    assert len(access_rows(app)) == 1


@pytest.mark.parametrize(
    "config",
    [
        {"PRIVACY_ACCESS_EVENTS": "files"},
        {"PRIVACY_ACCESS_EVENTS": True},
        {"PRIVACY_ACCESS_EVENTS": "log", "PRIVACY_LOG_ACCESS": False},
        {"PRIVACY_ACCESS_EVENTS": "both", "PRIVACY_LOG_ACCESS": False},
        {"PRIVACY_WRITER_LINGER_SECONDS": -1},
        {"PRIVACY_WRITER_LINGER_SECONDS": "0.25"},
        {"PRIVACY_WRITER_INLINE": "yes"},
    ],
)
def test_bad_access_events_or_linger_fail_at_init_naming_the_key(
    make_app: Callable[..., Flask], config: dict[str, object]
) -> None:
    (key,) = (k for k in config if k != "PRIVACY_LOG_ACCESS")
    with pytest.raises(ConfigurationError, match=key):
        make_app(upgrade=False, **config)


# -- redaction of the access event -----------------------------------------------------
def test_the_fields_skipped_by_redaction_are_computed_or_already_redacted_by_capture(
    make_app: Callable[..., Flask], logged: list[EventDict]
) -> None:
    """Personal data in every request-controlled part (path, allowed query parameter,
    User-Agent, a captured cookie, the method) never reaches the row or the log,
    although the processor skips these fields; and each skipped field's logged value
    is a fixed point of the redaction (visiting it again would change nothing)."""
    app = make_app(PRIVACY_CAPTURE_QUERY_PARAMS=["q"], PRIVACY_CAPTURE_COOKIES=["ab"])
    add_routes(app)
    client = app.test_client()
    client.set_cookie("ab", f"{EMAIL}|{CARD}")
    consent = app.extensions["privacy"]
    with app.app_context():
        value = consent.services.consent_cookie.dumps(
            consent.policy, {"service_improvement": True, "statistics_advertising": True}
        )
    client.set_cookie(consent.services.consent_cookie.name, value)
    client.get(f"/search/{EMAIL}?q={RRN}", headers={"User-Agent": f"Mozilla/5.0 ({EMAIL}; {CARD})"})
    client.open("/search", method=PHONE)
    events = [e for e in logged if e["event"] == "http.access"]
    assert len(events) == 2
    rows = access_rows(app)
    for text in [repr(events), repr(rows)]:
        for secret in (EMAIL, CARD, RRN, PHONE, "900101"):
            assert secret not in text
    assert {r["method"] for r in rows} == {"GET", "[phone]"}
    for event in events:
        for name in PRE_REDACTED_FIELDS & set(event):
            if isinstance(event[name], str):
                assert redact_text(event[name]) == event[name], name


def test_a_host_field_on_the_access_event_is_still_redacted(
    make_app: Callable[..., Flask], logged: list[EventDict]
) -> None:
    app = make_app()
    add_routes(app)

    @app.before_request
    def bind() -> None:
        structlog.contextvars.bind_contextvars(note=f"for {EMAIL}", card=CARD)

    app.test_client().get("/search", headers={"X-Test-Subject": EMAIL})
    event = _access(logged)
    assert event["note"] == "for [email]"
    assert event["card"] == "[card]"
    assert EMAIL not in repr(event)  # the subject (the host's id) is not among the skipped fields


def test_a_host_processor_rewriting_a_skipped_field_is_redacted(make_app: Callable[..., Flask]) -> None:
    """The processor skips a field only while it holds the very object capture passed."""
    captured: list[EventDict] = []

    def host_rewrites(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        if event_dict.get("event") == "http.access":
            event_dict["path"] = f"/contact/{EMAIL}"
            event_dict["user_agent"] = f"bot {CARD}"
        return event_dict

    def keep(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        captured.append(dict(event_dict))
        raise structlog.DropEvent

    structlog.configure(processors=[host_rewrites, *processors(), keep])
    try:
        app = make_app()
        add_routes(app)
        app.test_client().get("/search")
    finally:
        structlog.reset_defaults()
    event = _access(captured)
    assert event["path"] == "/contact/[email]"
    assert event.get("user_agent", "bot [card]") == "bot [card]"


def test_outside_capture_every_field_is_redacted(make_app: Callable[..., Flask], logged: list[EventDict]) -> None:
    """A host event named like capture's, logged by the host itself, skips nothing."""
    app = make_app()
    with app.test_request_context("/"):
        structlog.get_logger("host").info("http.access", path=f"/x/{EMAIL}", ip=PHONE, status=CARD)
    event = _access(logged)
    assert (event["path"], event["ip"], event["status"]) == ("/x/[email]", "[phone]", "[card]")


def test_only_the_declared_fields_are_marked_pre_redacted(make_app: Callable[..., Flask]) -> None:
    """What capture marks as done is within PRE_REDACTED_FIELDS (never the subject or
    the device families), for an anonymous visitor and one with every consent."""
    from flask_casenote_privacy.redact import PRE_REDACTED

    marked: list[set[str]] = []

    def look(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        done = PRE_REDACTED.get()
        if event_dict.get("event") == "http.access" and done is not None:
            marked.append(set(done))
        raise structlog.DropEvent

    structlog.configure(processors=[look])
    try:
        app = make_app(PRIVACY_CAPTURE_COOKIES=["ab"])
        add_routes(app)
        client = app.test_client()
        client.get("/search", headers={"X-Test-Subject": "member-1"})
        privacy = app.extensions["privacy"]
        with app.app_context():
            value = privacy.services.consent_cookie.dumps(
                privacy.policy, {"service_improvement": True, "statistics_advertising": True}
            )
        client.set_cookie(privacy.services.consent_cookie.name, value)
        client.set_cookie("ab", "x")
        client.get("/search", headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
    finally:
        structlog.reset_defaults()
    assert len(marked) == 2
    assert all(m <= PRE_REDACTED_FIELDS for m in marked)
    assert {"user_agent", "cookies", "path", "ip"} <= marked[1]
    assert PRE_REDACTED.get() is None  # reset after the event
