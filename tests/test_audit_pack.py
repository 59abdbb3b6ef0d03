"""The officer's audit pack on SQLite, PostgreSQL and MariaDB: `flask privacy audit
report` (JSON, CSV, HTML) and the officer page show the retention inventory,
requests against their deadlines (on time, late, refused with the ground), the
destruction ledger as a 파기 관리대장 with items and approver, provisions by
recipient, the access reviews and the policy versions; bad dates change nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask

from tests.conftest import Clock
from tests.member_site import Site

OFFICER = {"X-Test-Officer": "officer.kang"}


def cli(app: Flask, *args: str) -> Any:
    with structlog.testing.capture_logs():
        result = app.test_cli_runner().invoke(args=["privacy", *args])
    return result


def ok(app: Flask, *args: str) -> Any:
    result = cli(app, *args)
    assert result.exit_code == 0, (args, result.stderr, result.exception)
    return result


def seed(site: Site, clock: Clock) -> dict[str, str]:
    """November 2026: an access request answered on time, one answered late, a stop
    refused on a statutory ground, three provisions, a purge, a signed review."""
    app, privacy = site.app, site.privacy
    clock.set("2026-11-02T10:00:00+09:00")
    reg = ("requests", "register", "--channel", "written", "--officer", "officer.kang")
    on_time = json.loads(ok(app, *reg, "--subject", "41", "--kind", "access", "--scope", "all").stdout)["id"]
    ok(app, "requests", "complete", on_time, "--officer", "officer.kang")
    stop = json.loads(ok(app, *reg, "--subject", "42", "--kind", "stop", "--purpose", "statistics_advertising").stdout)[
        "id"
    ]
    ok(app, "requests", "refuse", stop, "--ground", "legal_obligation", "--reason", "세법상 보관 의무")
    late = json.loads(ok(app, *reg, "--subject", "42", "--kind", "access", "--scope", "all").stdout)["id"]
    with app.app_context():
        privacy.record_provision("41", recipient="nicepay", items=["card_number"])
        privacy.record_provision("41", recipient="nicepay", items=["card_expiry"])
        privacy.record_provision("42", recipient="nicepay", items=["card_number"])
    clock.set("2026-11-20T15:00:00+09:00")
    ok(app, "requests", "complete", late, "--officer", "officer.kang")
    ok(app, "purge", "--now", "2027-11-03T00:00:00+09:00", "--class", "operator_access", "--approved-by", "officer.lee")
    ok(app, "audit", "access", "--month", "2026-11", "--sign", "--reviewer", "officer.kang")
    clock.set("2026-12-01T09:00:00+09:00")
    return {"on_time": on_time, "stop": stop, "late": late}


def test_the_audit_report_holds_every_section(make_site: Callable[..., Site], clock: Clock, tmp_path: Path) -> None:
    site = make_site()
    ids = seed(site, clock)
    app = site.app
    report = json.loads(ok(app, "audit", "report", "--from", "2026-11-01", "--to", "2026-11-30").stdout)
    assert (report["from"], report["to"]) == ("2026-11-01", "2026-11-30")

    by_id = {r["id"]: r for r in report["requests"]["rows"]}
    assert by_id[ids["on_time"]]["deadline"] == "on_time"
    assert by_id[ids["late"]]["deadline"] == "late"
    refused = by_id[ids["stop"]]
    assert (refused["status"], refused["refusal_ground"], refused["refusal_reason"]) == (
        "refused",
        "legal_obligation",
        "세법상 보관 의무",
    )
    summary = report["requests"]["summary"]
    assert (summary["total"], summary["on_time"], summary["late"], summary["refused"]) == (3, 2, 1, 1)

    (ledger,) = [d for d in report["destructions"] if d["retention"] == "operator_access"]
    assert ledger["approved_by"] == "officer.lee" and ledger["executor"].startswith("cli")
    assert ledger["items"] == "operator, accessed_at, ip, subject, task, reason" and ledger["count"] >= 1

    (nicepay,) = report["provisions"]
    assert (nicepay["recipient"], nicepay["provisions"], nicepay["subjects"]) == ("nicepay", 3, 2)
    assert nicepay["items"] == "card_expiry, card_number"

    (review,) = report["access_reviews"]
    assert (review["month"], review["reviewer"]) == ("2026-11", "officer.kang")
    assert report["access_chain"]["ok"] is True and report["access_chain"]["anchor_seq"] >= 1
    assert [v["version"] for v in report["policy_versions"]] == [site.privacy.services.policy.version]
    classes = {c["retention"]: c for c in report["retention"]}
    assert classes["operator_access"]["period"] == "P1Y" and classes["operator_access"]["rows"] >= 1
    assert classes["payment_record"]["period"] == "P5Y"
    assert set(classes["access_log"]) >= {"rows", "oldest", "next_expiry", "overdue"}

    # December has none of November's requests, destructions or reviews.
    december = json.loads(ok(app, "audit", "report", "--from", "2026-12-01", "--to", "2026-12-31").stdout)
    assert december["requests"]["rows"] == [] and december["destructions"] == [] and december["access_reviews"] == []

    text = ok(app, "audit", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv").stdout
    sections = [row[0] for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if row and row[0].startswith("# ")]
    assert sections == [
        "# audit report",
        "# retention",
        "# requests",
        "# destructions",
        "# provisions",
        "# access_reviews",
        "# policy_versions",
    ]
    assert "officer.lee" in text and "legal_obligation" in text

    out = tmp_path / "audit.html"
    ok(app, "audit", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "html", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "개인정보 파기 관리대장" in html and "officer.lee" in html and "세법상 보관 의무" in html
    english = ok(
        app, "audit", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "html", "--lang", "en"
    )
    assert "Destruction ledger" in english.stdout and "Approved by" in english.stdout


def test_bad_dates_are_refused_with_every_problem(make_site: Callable[..., Site]) -> None:
    site = make_site()
    bad = cli(site.app, "audit", "report", "--from", "2026-02-30", "--to", "soon")
    assert bad.exit_code == 1 and "from:" in bad.stderr and "to:" in bad.stderr and bad.stdout == ""
    reversed_ = cli(site.app, "audit", "report", "--from", "2026-12-01", "--to", "2026-11-01")
    assert reversed_.exit_code == 1 and "after" in reversed_.stderr
    client = site.app.test_client()
    answer = client.get("/privacy/officer/audit?from=x&to=y", headers={**OFFICER, "Accept": "application/json"})
    assert answer.status_code == 400 and "from:" in answer.get_json()["message"]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_officer_page_shows_the_pack(make_site: Callable[..., Site], clock: Clock, lang: str) -> None:
    site = make_site()
    seed(site, clock)
    client = site.app.test_client()
    url = f"/privacy/officer/audit?from=2026-11-01&to=2026-11-30&lang={lang}"
    assert client.get(url, headers={"X-Test-Subject": "41"}).status_code == 403
    page = client.get(url, headers=OFFICER)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ("파기 승인자" if lang == "ko" else "Approved by") in html and "officer.lee" in html
    assert 'id="audit-provisions"' in html and "nicepay" in html
    data = client.get(url + "&format=json", headers=OFFICER).get_json()
    assert data["requests"]["summary"]["total"] == 3
    download = client.get(url + "&format=csv", headers=OFFICER)
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    assert "# destructions" in download.get_data(as_text=True)
    ledger = client.get("/privacy/officer/destructions", headers=OFFICER).get_data(as_text=True)
    assert "officer.lee" in ledger and "operator, accessed_at" in ledger
