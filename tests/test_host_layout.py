"""The privacy pages inside a real host's layout, on SQLite, PostgreSQL and MariaDB:
a host with Flask-WTF's CSRFProtect whose layout calls ``csrf_token()`` and reads
its own ``lang``, and a Bootstrap-style ``{% block content %}`` layout wrapped by
the three-line ``privacy/base.html`` of the README ("Your site's layout"), gets
every page (policy, consent, message, withdrawal confirmation, request status,
officer pages) with a 200, its own layout and the library's CSS."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string, template_rendered
from flask_wtf.csrf import CSRFProtect
from jinja2 import FileSystemLoader

from tests.member_site import PROBE_EMAIL, Site

OFFICER = {"X-Test-Officer": "officer.kang"}
MEMBER = {"X-Test-Subject": "41"}
JSON = {"Accept": "application/json"}
LINK = re.compile(r"http://localhost/privacy/withdraw/confirm/(\S+)")

# A layout in the Flask-Bootstrap style: an outer block body around the navigation and
# block content, a head block, a form calling Flask-WTF's csrf_token(), and the host's
# own lang from its context processor.
LAYOUT = """<!doctype html>
<html lang="{{ lang }}">
<head><title>{% block title %}{% endblock %} · Host site</title>{% block head %}<link rel="stylesheet" href="/host.css">{% endblock %}</head>
<body>
{% block body %}
<nav id="host-nav" data-lang="{{ lang }}" data-ui="{{ ui }}" data-policy="{{ policy }}">
  <form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}"></form>
</nav>
<main id="host-main">{% block content %}{% endblock %}</main>
{% endblock %}
</body>
</html>
"""
# The override the README documents, as a host would copy it.
PRIVACY_BASE = """{% extends "layout.html" %}
{% block head %}{{ super() }}{% include "privacy/style.html" %}{% endblock %}
{% block content %}<div class="privacy-page">{% block privacy_body %}{% endblock %}</div>{% endblock %}
"""
# What the host's context processor puts in every template: names the extension once
# passed too (and so hid from the layout).
HOST_CONTEXT = {"lang": "host-lang", "ui": "host-ui", "policy": "host-policy", "message": "host-message"}


@pytest.fixture
def host_site(make_site: Callable[..., Site], tmp_path: Path) -> Site:
    site = make_site()
    templates = tmp_path / "host-templates"
    (templates / "privacy").mkdir(parents=True)
    (templates / "layout.html").write_text(LAYOUT, encoding="utf-8")
    (templates / "privacy" / "base.html").write_text(PRIVACY_BASE, encoding="utf-8")
    app = site.app
    app.jinja_loader = FileSystemLoader(str(templates))  # type: ignore[assignment]
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    CSRFProtect(app)
    app.context_processor(lambda: dict(HOST_CONTEXT))
    return site


@contextmanager
def rendered(app: Flask) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every template rendered meanwhile, with its context."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        seen.append((template.name, dict(context)))

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def csrf_headers(client: Any, **headers: str) -> dict[str, str]:
    token = client.get("/privacy/consent", headers={**JSON, **headers}).get_json()["csrf_token"]
    return {"X-CSRF-Token": token, **headers}


def every_page(site: Site, smtp: Any) -> Iterator[tuple[str, Any]]:
    """(name, response) of each HTML page of the extension, as a browser gets it."""
    _, _, outbox = smtp
    member = site.app.test_client()
    yield "policy", member.get("/privacy/policy")
    yield "policy en", member.get("/privacy/policy?lang=en")
    yield "consent", member.get("/privacy/consent", headers=MEMBER)
    visitor = site.app.test_client()
    yield (
        "link sent",
        visitor.post("/privacy/withdraw/email", data={"email": PROBE_EMAIL}, headers=csrf_headers(visitor)),
    )
    outbox.wait(1)
    with site.app.app_context():
        site.privacy.services.mailer.flush()
    match = LINK.search(outbox.messages[-1]["body"])
    assert match
    yield "withdraw confirm", visitor.get(f"/privacy/withdraw/confirm/{match.group(1)}")
    answer = member.post(
        "/privacy/withdraw",
        data={"purpose": "statistics_advertising"},
        headers=csrf_headers(member, **MEMBER),
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    yield "request status", member.get(answer.headers["Location"], headers=MEMBER)
    officer = site.app.test_client()
    yield "officer index", officer.get("/privacy/officer/", headers=OFFICER)
    request_id = officer.get("/privacy/officer/", headers={**OFFICER, **JSON}).get_json()["requests"][0]["id"]
    yield "officer request", officer.get(f"/privacy/officer/requests/{request_id}", headers=OFFICER)
    yield "destructions", officer.get("/privacy/officer/destructions", headers=OFFICER)


def test_every_privacy_page_renders_in_a_host_layout_that_calls_csrf_token(host_site: Site, smtp: Any) -> None:
    pages = list(every_page(host_site, smtp))
    assert len(pages) == 9
    for name, response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code in (200, 202), (name, response.status_code, html[:500])
        nav = re.search(r'<nav id="host-nav" data-lang="([^"]*)" data-ui="([^"]*)" data-policy="([^"]*)">', html)
        assert nav, (name, html[:500])
        assert nav.groups() == ("host-lang", "host-ui", "host-policy"), name  # the host's own values
        token = re.search(r'action="/logout"><input type="hidden" name="csrf_token" value="([^"]+)"', html)
        assert token and len(token.group(1)) > 20, name  # Flask-WTF's csrf_token() was callable
        assert '<main id="host-main"><div class="privacy-page">' in html, name
        assert ".privacy-page th, .privacy-page td {" in html, name  # the library's CSS, in the host's head
        assert html.index('href="/host.css"') < html.index(".privacy-page h1"), name
        assert " · Host site</title>" in html and "<title> · Host site" not in html, name  # the page's title


def test_the_pages_pass_the_host_layout_only_names_under_privacy(host_site: Site, smtp: Any) -> None:
    with rendered(host_site.app) as seen:
        for _ in every_page(host_site, smtp):
            pass
    pages = [(name, context) for name, context in seen if name.startswith("privacy/")]
    assert {name for name, _ in pages} >= {
        "privacy/policy.html",
        "privacy/consent.html",
        "privacy/message.html",
        "privacy/withdraw_confirm.html",
        "privacy/request.html",
        "privacy/officer/index.html",
        "privacy/officer/request.html",
        "privacy/officer/destructions.html",
    }
    with host_site.app.test_request_context("/"), rendered(host_site.app) as host_page:
        render_template_string("a page of the host's own")
    flask_and_host = set(host_page[0][1])  # g, request, session, Flask-WTF's, the host's processor
    assert flask_and_host >= {"csrf_token", *HOST_CONTEXT}
    for name, context in pages:
        ours = set(context) - flask_and_host
        assert ours and all(key.startswith("privacy_") for key in ours), (name, sorted(ours))
        assert {key: context[key] for key in HOST_CONTEXT} == HOST_CONTEXT, name


def test_without_an_override_the_pages_keep_the_librarys_own_layout_and_css(make_site: Callable[..., Site]) -> None:
    site = make_site()
    html = site.app.test_client().get("/privacy/consent").get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert '<div class="privacy-page">' in html and "max-width: 52rem" in html
    assert ".privacy-page th, .privacy-page td {" in html
