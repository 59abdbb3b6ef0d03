"""The policy page (ko, en) and the consent form as a browser renders them from the
Casenote demo: the mandatory sections are on screen, each optional purpose has its own
box with its items, period, right to refuse and consequence, and the demo's banner asks
each purpose on its own (PIPA §22①).

Screenshots (``policy-ko``, ``policy-en``, ``consent-form``, ``consent-banner``) go to
``docs/img/`` when ``PRIVACY_TEST_SCREENSHOTS=docs/img`` is set, as in test_demo_flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flask_casenote_privacy.policy.loader import load_policy

from .conftest import DemoServer
from .test_demo_flow import Shots

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HEADINGS = {
    "ko": [
        "9. 개인정보의 안전성 확보조치",
        "10. 개인정보 열람청구",
        "11. 권익침해 구제방법",
        "12. 개인정보 처리방침의 시행",
    ],
    "en": ["9. Measures that keep", "10. Department that receives", "11. How to seek remedy", "12. Effective date"],
}


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_policy_page_shows_every_mandatory_section(
    demo: DemoServer, context: Any, tmp_path: Path, lang: str
) -> None:
    from playwright.sync_api import expect

    shots = Shots(tmp_path / "screenshots")
    page = context.new_page()
    page.goto(f"{demo.url}/privacy/policy?lang={lang}")
    for heading in HEADINGS[lang]:
        expect(page.locator("h2", has_text=heading)).to_be_visible()
    expect(page.locator("#remedy-police")).to_contain_text("182")
    expect(page.locator("#recipient-nicepay")).to_be_visible()
    expect(page.locator("#rights-representative")).to_be_visible()
    shots(page, f"policy-{lang}")
    assert shots.taken[-1].stat().st_size > 10_000


def test_the_consent_form_and_the_banner_ask_each_purpose_on_its_own(
    demo: DemoServer, context: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shots = Shots(tmp_path / "screenshots")
    policy = load_policy("casenote")
    page = context.new_page()
    page.goto(f"{demo.url}/")
    banner = page.locator("#consent-banner")
    expect(banner).to_be_visible()
    expect(banner.locator("input[type=checkbox]")).to_have_count(len(policy.consent_purposes))
    expect(banner.locator("#banner-accept")).to_have_count(0)  # no one button for several purposes
    shots(page, "consent-banner")

    page.goto(f"{demo.url}/privacy/consent")
    for purpose in policy.consent_purposes:
        fieldset = page.locator(f"#consent-{purpose.id}")
        expect(fieldset.locator("input[type=checkbox]")).to_have_count(1)
        consequence = purpose.refusal_consequence
        assert consequence is not None
        expect(fieldset.locator(".consequence")).to_have_text(consequence.get("ko"))
        expect(fieldset.locator(".period")).to_contain_text("3개월")
        expect(fieldset.locator(".right")).to_have_text("이 목적에 대한 동의를 거부할 권리가 있습니다.")
    shots(page, "consent-form")

    # Ticking one purpose in the form grants that one only.
    page.check(f"#consent-{policy.consent_purposes[0].id} input")
    page.click("button[value=save]")
    expect(page.locator(f"#consent-{policy.consent_purposes[0].id} input")).to_be_checked()
    expect(page.locator(f"#consent-{policy.consent_purposes[1].id} input")).not_to_be_checked()
