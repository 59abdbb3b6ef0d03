"""The audit pack as a regulator sees it: the report `flask privacy audit report
--format html` writes, opened in Debian's headless Chromium (Korean fonts from
fonts-noto-cjk). Kept as ``docs/img/10-audit-report.png`` when
``PRIVACY_TEST_SCREENSHOTS=docs/img`` is set (README, "Screenshots")."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Clock
from tests.member_site import Site
from tests.test_audit_pack import ok, seed


@pytest.mark.parametrize("database_urls", ["sqlite"], indirect=True)
def test_the_audit_report_opens_in_a_browser(
    chromium: Any, make_site: Callable[..., Site], clock: Clock, tmp_path: Path
) -> None:
    site = make_site()
    seed(site, clock)
    out = tmp_path / "audit-report.html"
    ok(site.app, "audit", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "html", "--out", str(out))
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(out.as_uri())
        assert page.locator("h1").inner_text() == "개인정보 감사 자료"
        ledger = page.locator("#audit-destructions").inner_text()
        assert "officer.lee" in ledger and "operator, accessed_at" in ledger
        assert "세법상 보관 의무" in page.locator("#audit-requests").inner_text()
        assert "이상 없음" in page.locator("#audit-chain").inner_text()
        shot = tmp_path / "10-audit-report.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert shot.stat().st_size > 10_000
    wanted = os.environ.get("PRIVACY_TEST_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(wanted) / shot.name)
