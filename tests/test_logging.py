"""The structlog processors: retention tags, consent-aware field dropping,
redaction of personal data, and one line per event whatever the input."""

from __future__ import annotations

import json
import string
from collections import namedtuple
from collections.abc import Callable, Iterator
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus, urlencode
from zoneinfo import ZoneInfo

import hypothesis.strategies as st
import pytest
import structlog
from flask import Flask, g
from hypothesis import given, settings
from structlog.testing import LogCapture

from flask_casenote_privacy.capture.decision import FIELD_ITEMS, RequestPrivacy
from flask_casenote_privacy.logging import (
    add_retention,
    drop_unconsented,
    processors,
    redact_personal_data,
)
from flask_casenote_privacy.policy.loader import load_policy

SEOUL = ZoneInfo("Asia/Seoul")
POLICY = load_policy("casenote")
NO_CONSENT_PURPOSES = frozenset(p.id for p in POLICY.purposes if not p.needs_consent)
NO_CONSENT_ITEMS = frozenset(i for p in POLICY.purposes if not p.needs_consent for i in p.items)
UNTIL = datetime(2027, 2, 28, 12, 0, tzinfo=SEOUL)


def request_privacy(
    granted: frozenset[str] = frozenset(),
    *,
    retention_until: datetime | None = UNTIL,
    field_items: dict[str, str] | None = None,
) -> RequestPrivacy:
    """What capture decides for a request under the casenote preset."""
    active = granted | NO_CONSENT_PURPOSES
    allowed = frozenset(i for p in POLICY.purposes if p.id in active for i in p.items)
    return RequestPrivacy(
        subject=None,
        granted=granted,
        active_purposes=active,
        allowed_items=allowed,
        gpc=False,
        retention="access_log",
        retention_until=retention_until,
        field_items=field_items if field_items is not None else FIELD_ITEMS,
    )


def run(processor: Callable[..., Any], **event: Any) -> dict[str, Any]:
    result = processor(None, "info", dict(event))
    assert isinstance(result, dict)
    return result


def redact(value: Any) -> Any:
    return run(redact_personal_data, value=value)["value"]


@pytest.fixture
def flask_app() -> Flask:
    """A bare app; tests that need the extension's view put a stand-in in place."""
    return Flask("logging_test")


@pytest.fixture
def in_request(flask_app: Flask) -> Iterator[Callable[[RequestPrivacy], None]]:
    """Enter a request and install the given decisions as capture would."""
    with flask_app.test_request_context("/cases/1"):

        def install(state: RequestPrivacy) -> None:
            g._privacy_request = state

        yield install


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    """A real structlog chain ending in a LogCapture; defaults restored after."""
    structlog.reset_defaults()
    capture = LogCapture()
    structlog.configure(processors=[*processors(), capture])
    yield capture
    structlog.reset_defaults()


ACCESS_EVENT = {
    "event": "http.access",
    "ip": "203.0.113.7",
    "method": "GET",
    "path": "/cases/1",
    "status": 200,
    "duration_ms": 3.2,
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "device_family": "Other",
    "cookie_ids": ["_ga=GA1.2.3"],
    "request_id": "r-1",
}


# -- add_retention --------------------------------------------------------------
def test_add_retention_tags_request_events_with_class_expiry_in_policy_zone_and_purposes(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    in_request(request_privacy(frozenset({"service_improvement"})))
    event = run(add_retention, event="http.access")
    assert event["retention"] == "access_log"
    assert event["retention_until"] == "2027-02-28T12:00:00+09:00"
    assert event["purposes"] == sorted(NO_CONSENT_PURPOSES | {"service_improvement"})
    assert "service_improvement" in event["purposes"]


def test_add_retention_purposes_without_consent_are_only_the_no_consent_ones(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    in_request(request_privacy())
    event = run(add_retention, event="x")
    assert event["purposes"] == ["member_management", "security", "user_protection"]


def test_add_retention_keeps_a_retention_the_caller_set_and_its_expiry(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    in_request(request_privacy())
    event = run(add_retention, event="payment", retention="payment_record")
    assert event["retention"] == "payment_record"
    assert "retention_until" not in event
    event = run(add_retention, event="payment", retention="payment_record", retention_until="2031-01-01")
    assert event["retention_until"] == "2031-01-01"


def test_add_retention_gives_no_expiry_for_a_class_kept_until_withdrawal(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    in_request(request_privacy(retention_until=None))
    event = run(add_retention, event="x")
    assert event["retention_until"] is None


def test_add_retention_leaves_events_outside_a_captured_request_unchanged(flask_app: Flask) -> None:
    assert run(add_retention, event="job.done") == {"event": "job.done"}
    with flask_app.app_context():
        assert run(add_retention, event="job.done") == {"event": "job.done"}
    with flask_app.test_request_context("/static/app.js"):  # a request capture skipped
        assert run(add_retention, event="job.done") == {"event": "job.done"}


# -- drop_unconsented -------------------------------------------------------------
def test_without_optional_consent_device_and_cookie_fields_are_dropped_but_ip_and_usage_kept(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    in_request(request_privacy())
    event = run(drop_unconsented, **ACCESS_EVENT)
    assert "user_agent" not in event
    assert "device_family" not in event
    assert "cookie_ids" not in event
    assert event["ip"] == "203.0.113.7"
    assert (event["method"], event["path"], event["status"]) == ("GET", "/cases/1", 200)
    assert event["event"] == "http.access"
    assert event["request_id"] == "r-1"


def test_with_service_improvement_granted_user_agent_and_cookies_are_kept(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    in_request(request_privacy(frozenset({"service_improvement"})))
    event = run(drop_unconsented, **ACCESS_EVENT)
    assert event == ACCESS_EVENT


def test_drop_unconsented_follows_the_requests_field_mapping_from_the_host(
    in_request: Callable[[RequestPrivacy], None],
) -> None:
    mapping = {**FIELD_ITEMS, "screen_size": "device_info", "login_email": "email"}
    in_request(request_privacy(field_items=mapping))
    event = run(drop_unconsented, event="x", screen_size="1920x1080", login_email="k@example.com")
    assert event == {"event": "x", "login_email": "k@example.com"}


def test_outside_a_request_only_items_of_no_consent_purposes_are_logged(flask_app: Flask) -> None:
    flask_app.extensions["privacy"] = SimpleNamespace(services=SimpleNamespace(always_allowed_items=NO_CONSENT_ITEMS))
    with flask_app.app_context():
        event = run(drop_unconsented, **ACCESS_EVENT)
    assert "user_agent" not in event
    assert "cookie_ids" not in event
    assert event["ip"] == "203.0.113.7"
    assert event["path"] == "/cases/1"


def test_a_request_capture_did_not_decide_fails_closed_like_outside_a_request(flask_app: Flask) -> None:
    flask_app.extensions["privacy"] = SimpleNamespace(services=SimpleNamespace(always_allowed_items=NO_CONSENT_ITEMS))
    with flask_app.test_request_context("/static/app.js"):
        event = run(drop_unconsented, **ACCESS_EVENT)
    assert "user_agent" not in event
    assert event["ip"] == "203.0.113.7"


def test_outside_a_request_the_hosts_config_mapping_is_applied(flask_app: Flask) -> None:
    flask_app.extensions["privacy"] = SimpleNamespace(services=SimpleNamespace(always_allowed_items=NO_CONSENT_ITEMS))
    flask_app.config["PRIVACY_LOG_FIELD_ITEMS"] = {"screen_size": "device_info", "login_email": "email"}
    with flask_app.app_context():
        event = run(drop_unconsented, event="x", screen_size="1920x1080", login_email="k@example.com")
    assert event == {"event": "x", "login_email": "k@example.com"}


def test_without_an_app_every_field_mapped_to_an_item_is_dropped() -> None:
    event = run(drop_unconsented, **ACCESS_EVENT)
    assert event == {"event": "http.access", "request_id": "r-1"}


def test_an_app_without_the_extension_drops_every_mapped_field(flask_app: Flask) -> None:
    with flask_app.app_context():
        event = run(drop_unconsented, event="cli.job", ip="203.0.113.7", rows=3)
    assert event == {"event": "cli.job", "rows": 3}


def test_outside_a_request_the_real_extension_keeps_ip_and_drops_user_agent(app: Flask) -> None:
    with app.app_context():
        event = run(drop_unconsented, **ACCESS_EVENT)
    assert event["ip"] == "203.0.113.7"
    assert event["status"] == 200
    assert "user_agent" not in event
    assert "cookie_ids" not in event


def test_outside_a_request_the_real_extension_applies_the_configured_field_mapping(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PRIVACY_LOG_FIELD_ITEMS={"screen_size": "device_info", "login_email": "email"})
    with app.app_context():
        event = run(drop_unconsented, event="x", screen_size="1920x1080", login_email="k@example.com")
    assert event == {"event": "x", "login_email": "k@example.com"}


# -- redact_personal_data: what is redacted --------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail kim.minsu+tag@example.co.kr now", "mail [email] now"),
        ("card 4111 1111 1111 1111 ok", "card [card] ok"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("card 4111111111111111", "card [card]"),
        ("amex 3782 822463 10005", "amex [card]"),
        ("visa13 4222222222222", "visa13 [card]"),
        ("card 4111 1111 1111 1111 2031", "card [card] 2031"),
        ("rrn 900101-1234567", "rrn [rrn]"),
        ("rrn 9001011234567", "rrn [rrn]"),
        ("rrn 050301-3234567", "rrn [rrn]"),
        ("foreigner 851231-5234567", "foreigner [rrn]"),
        ("leap day 000229-3234567", "leap day [rrn]"),  # 29 Feb 2000 existed
        ("tel 010-1234-5678", "tel [phone]"),
        ("tel 01012345678", "tel [phone]"),
        ("tel 010 1234 5678", "tel [phone]"),
        ("tel +82 10-1234-5678", "tel [phone]"),
        ("tel +82-10-1234-5678", "tel [phone]"),
        ("tel +821012345678", "tel [phone]"),
        ("tel 02-123-4567", "tel [phone]"),
        ("tel 02-1234-5678", "tel [phone]"),
        ("tel 031-123-4567", "tel [phone]"),
        ("tel 070-1234-5678", "tel [phone]"),
        ("전화:010-9876-5432, 메일:hong@example.kr", "전화:[phone], 메일:[email]"),
        # What an attacker found missing: names in the local part, IDN domains,
        # other separators, area codes in brackets, full-width digits.
        ("from 홍길동@example.com", "from [email]"),
        ("mail kim@카카오.한국 done", "mail [email] done"),
        ("mail 김민지.kim@회사.kr", "mail [email]"),
        ("rrn 900101 1234567", "rrn [rrn]"),
        ("rrn 900101.1234567", "rrn [rrn]"),
        ("tel 010.1234.5678", "tel [phone]"),
        ("tel (02) 123-4567", "tel [phone]"),
        ("tel (031)123-4567", "tel [phone]"),
        ("card 4111.1111.1111.1111", "card [card]"),
        ("tel ０１０-１２３４-５６７８", "tel [phone]"),
        ("rrn ９００１０１-１２３４５６７", "rrn [rrn]"),
        ("card ４１１１ １１１１ １１１１ １１１１", "card [card]"),
    ],
)
def test_personal_data_of_each_kind_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112",  # 16 digits failing Luhn
        "order 1234-5678-9012-3456",
        "at 1732761600011",  # a millisecond timestamp that passes Luhn
        "id 00000000000000",
        "seq 12345678901234567890123",  # longer than any card
        "rrn-like 901301-1234567",  # month 13
        "rrn-like 900230-1234567",  # 30 February
        "rrn-like 900101-9234567",  # back part cannot start with 9
        "rrn-like 900101-0234567",
        "rrn-like 000229-1234567",  # 29 Feb 1900 did not exist
        "2027-02-28T12:00:00+09:00",
        "2026-11-28T03:00:00.123456Z",
        "2026-11-28T12:00:00.021234567+09:00",  # a nanosecond fraction like a Seoul number
        "2026-11-28 12:00:00",
        "20261128T120000+0900",
        "1732761600",
        "203.0.113.7",
        "192.168.010.123",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:db8::1",
        "::ffff:192.0.2.128",
        "fe80::1%eth0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.6099.109 Safari/537.36",
        "/static/logo@2x.png",
        "/files/my%20report%202026.pdf",
        "git@github",
        "version 1.2.3-4",
        "tel 1588-1234",  # a company's nationwide number is not a person's
        "v 10.0.19045.3803",  # a Windows build: dotted, but no card, phone or rrn
        "price 1,234,567.89",
        "서울 2026.11.30 12:00",
        "(주) 케이스노트",
        "전각 숫자 ２０２６년",
    ],
)
def test_values_that_are_not_personal_data_are_kept_exactly(text: str) -> None:
    assert redact(text) == text


def test_only_strings_found_clean_are_remembered_never_personal_data() -> None:
    from flask_casenote_privacy.redact import _check_clean, redact_text

    _check_clean.cache_clear()
    assert redact_text("mail kim@example.com") == "mail [email]"
    assert redact_text("tel 010-1234-5678") == "tel [phone]"
    assert redact_text("line\nbreak") == "line\\nbreak"
    clean = "".join(["GET ", "/search"])  # a fresh object each call: the caller's is returned
    assert redact_text(clean) is clean
    assert redact_text("".join(["GET ", "/search"])) == clean
    info = _check_clean.cache_info()
    assert (info.currsize, info.hits) == (1, 1)


def test_non_string_values_are_kept_as_they_are() -> None:
    when = datetime(2026, 11, 28, tzinfo=SEOUL)
    event = run(redact_personal_data, status=200, duration_ms=1.5, ok=True, none=None, when=when)
    assert event == {"status": 200, "duration_ms": 1.5, "ok": True, "none": None, "when": when}


def test_nested_values_are_redacted_and_keys_left_alone() -> None:
    Pair = namedtuple("Pair", "left right")
    value = {
        "kim@example.com": ["call 010-1234-5678", ("900101-1234567", {"deep": "x@y.org"})],
        "pair": Pair("4111 1111 1111 1111", 7),
        "tags": frozenset({"a@b.io"}),
        "plain": ["no pii"],
    }
    result = redact(value)
    assert result == {
        "kim@example.com": ["call [phone]", ("[rrn]", {"deep": "[email]"})],
        "pair": Pair("[card]", 7),
        "tags": frozenset({"[email]"}),
        "plain": ["no pii"],
    }
    assert type(result["pair"]) is Pair
    assert result["plain"] is value["plain"]  # unchanged containers are not copied


def test_the_callers_nested_objects_are_not_mutated() -> None:
    original = {"who": ["kim@example.com"]}
    redact(original)
    assert original == {"who": ["kim@example.com"]}


def test_cyclic_or_very_deep_values_are_redacted_without_recursing_forever() -> None:
    cyclic: list[Any] = ["kim@example.com"]
    cyclic.append(cyclic)
    result = redact(cyclic)
    assert "kim@example.com" not in repr(result)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/search?q=kim%40example.com", "/search?q=[email]"),
        ("/call?to=%2B82-10-1234-5678", "/call?to=[phone]"),
        ("q=010%2D1234%2D5678", "q=[phone]"),
        ("pan=4111%201111%201111%201111", "pan=[card]"),
        ("q=kim%2540example.com", "q=[email]"),  # encoded twice
        ("rrn=900101%2d1234567&x=%20", "rrn=[rrn]&x= "),
        ("q=010+1234+5678", "q=[phone]"),  # form encoding: '+' is a space
        ("pan=4111+1111+1111+1111", "pan=[card]"),
        ("/find?" + urlencode([("tel", "+82 10 1234 5678")]), "/find?tel=[phone]"),
        ("a=kim%40x.com&b=010+1234+5678", "a=[email]&b=[phone]"),
        ("to=+82%2010%201234%205678", "to=[phone]"),
    ],
)
def test_url_encoded_personal_data_is_found_and_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", ["x=a+b&y=%2B1", "C++ 1+2+3+4+5+6+7+8+9", "/a%2Fb?page=2&size=50"])
def test_encoded_values_without_personal_data_keep_their_encoded_form(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /\r\n2026-11-28 level=info event=forged", "GET /\\r\\n2026-11-28 level=info event=forged"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
        ("a\x85b\x0bc\x0cd\x00e\tf\x7fg", "a\\x85b\\x0bc\\x0cd\\x00e\\tf\\x7fg"),
        ("ua%0d%0ainjected", "ua%0d%0ainjected"),  # encoded newlines render as one line already
        ("kim@example.com\nnext", "[email]\\nnext"),
    ],
)
def test_control_characters_and_line_separators_become_visible_escapes(text: str, expected: str) -> None:
    assert redact(text) == expected


# -- the whole chain ----------------------------------------------------------------
def test_the_chain_tags_drops_and_redacts_an_access_event(
    captured: LogCapture, in_request: Callable[[RequestPrivacy], None]
) -> None:
    in_request(request_privacy())
    fields = {k: v for k, v in ACCESS_EVENT.items() if k != "event"}
    fields["path"] = "/find?email=kim%40example.com"
    structlog.get_logger().info("http.access", **fields)
    [entry] = captured.entries
    assert entry["retention"] == "access_log"
    assert entry["retention_until"] == "2027-02-28T12:00:00+09:00"  # not taken for a number
    assert entry["purposes"] == ["member_management", "security", "user_protection"]
    assert "user_agent" not in entry
    assert entry["ip"] == "203.0.113.7"
    assert entry["path"] == "/find?email=[email]"


def test_processors_returns_the_three_in_order_as_a_new_list_each_time() -> None:
    chain = processors()
    assert chain == [add_retention, drop_unconsented, redact_personal_data]
    chain.clear()
    assert len(processors()) == 3


def test_a_timestamper_before_the_chain_is_left_intact(captured: LogCapture) -> None:
    structlog.configure(processors=[structlog.processors.TimeStamper(fmt="iso", utc=True), *processors(), captured])
    structlog.get_logger().info("job.done")
    [entry] = captured.entries
    assert datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).year >= 2024


# -- properties: one line per event, probes never survive ----------------------------------
RENDERERS: dict[str, Any] = {
    "json": structlog.processors.JSONRenderer(),
    "keyvalue": structlog.processors.KeyValueRenderer(),
    "console": structlog.dev.ConsoleRenderer(colors=False),
}


def render(renderer: Any, event: str, **fields: Any) -> str:
    logger = structlog.wrap_logger(structlog.ReturnLogger(), processors=[*processors(), renderer])
    output = logger.info(event, **fields)
    assert isinstance(output, str)
    return output


@settings(max_examples=150, deadline=None)
@given(value=st.text(), renderer=st.sampled_from(sorted(RENDERERS)))
def test_any_text_renders_as_exactly_one_line(value: str, renderer: str) -> None:
    output = render(RENDERERS[renderer], value, value=value, nested={"list": [value, (value,)]})
    assert len(output.splitlines()) == 1
    for separator in ("\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"):
        assert separator not in output


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    middle = draw(st.lists(st.integers(0, 9), min_size=length - 2, max_size=length - 2))
    body = [draw(st.integers(2, 9)), *middle]
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = digit * 2 if position % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    digits = "".join(map(str, body)) + str((10 - total % 10) % 10)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


@st.composite
def resident_numbers(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    first = draw(st.sampled_from("1256" if born.year < 2000 else "3478"))
    rest = draw(st.text(string.digits, min_size=6, max_size=6))
    dash = draw(st.sampled_from(["", "-"]))
    return f"{born:%y%m%d}{dash}{first}{rest}"


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from(["", "-", " "]))
    mobile = draw(st.sampled_from(["10", "11", "16", "17", "18", "19"]))
    middle = draw(st.text(string.digits, min_size=3, max_size=4))
    last = draw(st.text(string.digits, min_size=4, max_size=4))
    prefix = draw(st.sampled_from(["0", "+82 ", "+82-", "+82"]))
    return f"{prefix}{mobile}{sep}{middle}{sep}{last}"


PROBES = st.one_of(st.emails(), card_numbers(), resident_numbers(), phone_numbers())


@settings(max_examples=300, deadline=None)
@given(before=st.text(), probe=PROBES, after=st.text(), encoding=st.sampled_from(["raw", "url", "form"]))
def test_personal_data_embedded_in_any_text_never_reaches_the_output(
    before: str, probe: str, after: str, encoding: str
) -> None:
    encoders = {"raw": str, "url": lambda v: quote(v, safe=""), "form": quote_plus}
    hidden = encoders[encoding](probe)
    value = f"{before} {hidden} {after}"
    output = render(RENDERERS["json"], "user.input", value=value, nested=[{"v": value}])
    assert probe not in output
    event = json.loads(output)
    assert probe not in event["value"]
    assert probe not in event["nested"][0]["v"]
    assert len(output.splitlines()) == 1
