"""Hostile input, property-based: consent cookies, tokens, JSON bodies, headers, the
policy loader and the CLI's arguments. Never a 500, never a change of state on an
error, never a forged log line."""

from __future__ import annotations

import copy
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.logging import processors as privacy_processors
from flask_casenote_privacy.policy.loader import PolicyError, parse_policy
from flask_casenote_privacy.storage.tables import consent_events, requests, token_uses
from tests.helpers import access_rows
from tests.member_site import PROBE_EMAIL, Site, User, build_site

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text that reaches a WSGI header: latin-1 encodable, no CR/LF (which Werkzeug itself refuses).
header_text = st.text(st.characters(min_codepoint=1, max_codepoint=255, blacklist_characters="\r\n"), max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def site(make_app: Callable[..., Flask], tmp_path: Path) -> Iterator[Site]:
    urls = (
        URL.create("sqlite", database=str(tmp_path / "m.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "a.sqlite")),
    )
    site = build_site(make_app, urls, tmp_path, PRIVACY_CSRF=False)
    site.add_member(41, "김민지", PROBE_EMAIL, [("2026-11-30T23:30:00+09:00", 19900)])
    yield site
    site.close()


def state(site: Site) -> tuple[int, int, int, int]:
    """Everything a request could change: ledger, requests, spent tokens, members."""
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        counts = tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (consent_events, requests, token_uses)
        )
    return (*counts, site.count(User, 41))  # type: ignore[return-value]


@given(cookie=header_text)
@FAST
def test_any_consent_cookie_is_served_and_grants_nothing(site: Site, cookie: str) -> None:
    client = site.app.test_client()
    response = client.get("/search", headers={"Cookie": f"privacy_consent={cookie}", "User-Agent": "Mozilla/5.0"})
    assert response.status_code == 200
    assert access_rows(site.app)[-1]["user_agent"] is None


@given(token=st.text(max_size=200))
@FAST
def test_any_withdrawal_token_is_refused_without_a_change(site: Site, token: str) -> None:
    before = state(site)
    client = site.app.test_client()
    from urllib.parse import quote

    path = "/privacy/withdraw/confirm/" + quote(token, safe="")
    for method in ("GET", "POST"):
        response = client.open(path, method=method, headers={"Accept": "application/json"})
        # 400 (bad token), 404/405 (not a token route), 308 (Werkzeug merging "//")
        assert response.status_code in (308, 400, 404, 405), response.status_code
    assert state(site) == before


@given(body=json_values)
@FAST
def test_any_json_body_to_a_state_changing_route_is_4xx_or_ok_never_500(site: Site, body: Any) -> None:
    client = site.app.test_client()
    headers = {"X-Test-Subject": "41", "Accept": "application/json"}
    for route in ("/privacy/consent", "/privacy/withdraw/email"):
        before = state(site)
        response = client.post(route, data=json.dumps(body), content_type="application/json", headers=headers)
        assert response.status_code < 500, (route, body, response.get_data(as_text=True))
        if response.status_code >= 400:
            assert state(site) == before
            assert "message" in response.get_json()


@given(body=json_values)
@FAST
def test_any_json_body_to_withdraw_either_is_refused_unchanged_or_is_a_valid_withdrawal(site: Site, body: Any) -> None:
    before = state(site)
    response = site.app.test_client().post(
        "/privacy/withdraw",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-Test-Subject": "41", "Accept": "application/json"},
    )
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert state(site) == before
    else:  # only a well-formed body withdraws
        assert isinstance(body, dict) and (body.get("scope") == "all" or body.get("purposes"))


@given(agent=header_text, forwarded=header_text, gpc=header_text, cookie=header_text)
@FAST
def test_hostile_headers_never_fail_and_never_forge_a_log_line(
    site: Site, agent: str, forwarded: str, gpc: str, cookie: str
) -> None:
    out = io.StringIO()
    structlog.configure(
        processors=[*privacy_processors(), structlog.processors.KeyValueRenderer(sort_keys=True)],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    try:
        site.app.config["PRIVACY_TRUSTED_PROXIES"] = 0
        response = site.app.test_client().get(
            "/search",
            headers={"User-Agent": agent, "X-Forwarded-For": forwarded, "Sec-GPC": gpc, "Cookie": cookie},
        )
        assert response.status_code == 200
    finally:
        structlog.reset_defaults()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # exactly the one http.access event, whatever the headers held
    assert lines[0].startswith("duration_ms=") or "event='http.access'" in lines[0]


# -- the policy loader -------------------------------------------------------------------------
PRESET = tomllib.loads(
    (Path(__file__).parent.parent / "flask_casenote_privacy/presets/casenote.toml").read_text("utf-8")
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(PRESET)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@given(mutations=st.lists(st.tuples(st.sampled_from(PATHS), junk, st.booleans()), min_size=1, max_size=4))
@settings(max_examples=150, deadline=None)
def test_a_mutated_policy_is_loaded_or_refused_with_problems_never_crashes(mutations: list[Any]) -> None:
    from flask_casenote_privacy.policy.loader import _Reader

    data = copy.deepcopy(PRESET)
    for path, value, remove in mutations:
        parent = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            if remove and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    reader = _Reader(data)
    policy = reader.policy("mutated")
    assert (policy is None) == bool(reader.problems)
    assert all(isinstance(p, str) and p for p in reader.problems)


@given(text=st.text(max_size=400))
@settings(max_examples=150, deadline=None)
def test_any_text_as_a_policy_file_is_refused_with_a_message(text: str) -> None:
    with pytest.raises(PolicyError) as info:  # random text is never a complete policy
        parse_policy(text, source="fuzz")
    assert info.value.problems


# -- the CLI -------------------------------------------------------------------------------------
@given(now=st.text(max_size=40), cls=st.text(max_size=20))
@FAST
def test_purge_with_any_arguments_exits_cleanly_and_destroys_nothing_on_error(site: Site, now: str, cls: str) -> None:
    site.app.test_client().get("/search")
    before = len(access_rows(site.app))
    result = site.app.test_cli_runner().invoke(args=["privacy", "purge", "--now", now, "--class", cls])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code != 0:
        assert len(access_rows(site.app)) == before


@given(subject=st.text(max_size=30), kind=st.text(max_size=10), purpose=st.text(max_size=20))
@FAST
def test_requests_register_with_any_arguments_exits_cleanly(site: Site, subject: str, kind: str, purpose: str) -> None:
    before = state(site)
    result = site.app.test_cli_runner().invoke(
        args=[
            "privacy",
            "requests",
            "register",
            "--subject",
            subject,
            "--kind",
            kind,
            "--channel",
            "written",
            "--purpose",
            purpose,
        ]
    )
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code != 0:
        assert state(site) == before
