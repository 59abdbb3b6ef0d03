"""A withdrawal link goes only to the address the host holds for the member, and only
when the typed address is that address: compared in Python (NFC, case-folded and
IDNA-encoded domain), never by the host database's collation. On SQLite, PostgreSQL
and MariaDB, whose default collation (utf8mb4_general_ci) ignores case and accents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flask_casenote_privacy.addresses import normal_address, same_address
from tests.member_site import PROBE_EMAIL, Site

LOOK_ALIKES = [
    "probe.member@exämple.kr",
    "probe.member@examplé.kr",
    "próbe.member@example.kr",
    "PROBE.member@example.kr",
]


def ask(site: Site, email: str) -> None:
    client = site.app.test_client()
    token = client.get("/privacy/consent", headers={"Accept": "application/json"}).get_json()["csrf_token"]
    answer = client.post("/privacy/withdraw/email", data={"email": email, "csrf_token": token})
    assert answer.status_code == 202
    with site.app.app_context():
        site.privacy.services.mailer.flush()


@pytest.mark.parametrize("typed", LOOK_ALIKES)
def test_a_look_alike_address_gets_no_link_whatever_the_collation(
    make_site: Callable[..., Site], smtp: Any, typed: str
) -> None:
    site = make_site()
    backend = site.engine.dialect.name
    users = site.privacy.services.sources["users"]
    found_by_database = users.find("email", typed)
    if backend in ("mysql", "mariadb"):
        assert found_by_database == ["41"]  # the collation alone would have mailed the member's link
    ask(site, typed)
    assert smtp[2].messages == []


def test_the_link_goes_to_the_stored_address_not_the_typed_one(make_site: Callable[..., Site], smtp: Any) -> None:
    site = make_site()
    typed = PROBE_EMAIL.replace("example.kr", "EXAMPLE.KR")  # the same mailbox: domains ignore case
    ask(site, typed)
    if site.engine.dialect.name in ("mysql", "mariadb"):
        (mail,) = smtp[2].messages  # found by the collation, confirmed in Python
        assert mail["to"] == [PROBE_EMAIL]
    else:
        assert smtp[2].messages == []  # a case-sensitive lookup finds nobody: no mail either
    ask(site, PROBE_EMAIL)
    assert smtp[2].messages[-1]["to"] == [PROBE_EMAIL]


@pytest.mark.parametrize(
    ("stored", "typed", "same"),
    [
        ("kim@example.com", "kim@example.com", True),
        ("kim@example.com", " kim@EXAMPLE.com ", True),
        ("kim@카카오.한국", "kim@xn--vk5b15ma.xn--3e0b707e", True),
        ("kim@example.com", "kim@exämple.com", False),
        ("kim@example.com", "Kim@example.com", False),  # a local part may be case-sensitive
        ("kim@example.com", "kim@example.com.", False),
        ("kim@example.com", "kim", False),
        ("kim@example.com", "kim@", False),
    ],
)
def test_addresses_compare_by_their_normal_form(stored: str, typed: str, same: bool) -> None:
    assert same_address(stored, typed) is same


def test_a_composed_and_a_decomposed_address_are_the_same() -> None:
    composed, decomposed = "jos\u00e9@example.com", "jose\u0301@example.com"
    assert normal_address(composed) == normal_address(decomposed)
