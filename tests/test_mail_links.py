"""Every absolute link in mail comes from configuration (``PRIVACY_EXTERNAL_URL``, or
Flask's ``SERVER_NAME`` + ``PREFERRED_URL_SCHEME``), never from the request's Host
header: a forged Host must not make the site mail a member a link to the attacker."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from flask_casenote_privacy import ConfigurationError, Privacy
from tests.member_site import PROBE_EMAIL, Site

SITE_URL = "https://www.casenote.kr"


def csrf_token(client: Any, host: str) -> str:
    answer = client.get("/privacy/consent", headers={"Accept": "application/json", "Host": host})
    return str(answer.get_json()["csrf_token"])


def ask_for_link_as(site: Site, host: str) -> None:
    client = site.app.test_client()
    token = csrf_token(client, host)  # the attacker's own session, on the forged host
    answer = client.post(
        "/privacy/withdraw/email",
        data={"email": PROBE_EMAIL, "csrf_token": token},
        headers={"Host": host, "X-Forwarded-Host": host},
    )
    assert answer.status_code == 202


def test_a_forged_host_header_never_reaches_the_withdrawal_link(make_site: Callable[..., Site], smtp: Any) -> None:
    site = make_site(PRIVACY_EXTERNAL_URL=SITE_URL)
    ask_for_link_as(site, "attacker.example")
    (mail,) = smtp[2].wait(1)
    assert "attacker" not in mail["body"]
    links = re.findall(r"https?://\S+", mail["body"])
    assert links and all(link.startswith(f"{SITE_URL}/privacy/withdraw/confirm/") for link in links), links
    # The link works: it names a route of this site.
    path = links[0].removeprefix(SITE_URL)
    assert site.app.test_client().get(path).status_code == 200


def test_links_follow_server_name_and_preferred_url_scheme(make_site: Callable[..., Site], smtp: Any) -> None:
    site = make_site(SERVER_NAME="casenote.kr", PREFERRED_URL_SCHEME="https")
    ask_for_link_as(site, "casenote.kr")
    (mail,) = smtp[2].wait(1)
    assert "https://casenote.kr/privacy/withdraw/confirm/" in mail["body"]


def test_a_mail_sent_from_the_cli_carries_an_absolute_configured_link(
    make_site: Callable[..., Site], smtp: Any
) -> None:
    site = make_site(PRIVACY_EXTERNAL_URL=SITE_URL + "/")  # a trailing slash is fine
    runner = site.app.test_cli_runner()
    registered = runner.invoke(
        args=["privacy", "requests", "register", "--subject", "41", "--kind", "access", "--channel", "written"]
    )
    assert registered.exit_code == 0, registered.output
    request_id = re.search(r'"id": "(\w+)"', registered.stdout).group(1)  # type: ignore[union-attr]
    assert runner.invoke(args=["privacy", "requests", "complete", request_id]).exit_code == 0
    ready = smtp[2].wait(1)[-1]
    assert f"{SITE_URL}/privacy/export" in ready["body"]


def bare_app(tmp_path: Any, **config: Any) -> Flask:
    app = Flask("host", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k" * 32, **config)
    return app


def test_start_up_without_a_site_url_fails_naming_the_key(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Privacy(bare_app(tmp_path))
    assert raised.value.key == "PRIVACY_EXTERNAL_URL"
    assert "Host header" in str(raised.value)


@pytest.mark.parametrize("value", ["www.casenote.kr", "ftp://casenote.kr", "https://casenote.kr/?next=x", "https://"])
def test_a_site_url_that_is_not_an_http_base_url_is_refused(tmp_path: Any, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Privacy(bare_app(tmp_path, PRIVACY_EXTERNAL_URL=value))
    assert raised.value.key == "PRIVACY_EXTERNAL_URL"


def test_debug_and_testing_may_start_without_a_site_url(tmp_path: Any) -> None:
    Privacy(bare_app(tmp_path / "t", TESTING=True))
    debug = bare_app(tmp_path / "d")
    debug.debug = True
    Privacy(debug)
