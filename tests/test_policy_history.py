"""Policy history and change management on SQLite, PostgreSQL and MariaDB: every text
recorded once with its effective date; /privacy/policy/history and ?version=; the
consents a new version voids lapse on its effective date; `flask privacy policy
announce` tells the affected members once, through the outbox (mails read from the
loopback SMTP server), respecting the lead time; `flask privacy policy diff`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.consent import record_consent
from flask_casenote_privacy.storage.tables import outbox, policy_notices, policy_versions
from tests.conftest import Clock
from tests.member_site import PROBE_EMAIL, Site, build_site

JSON = {"Accept": "application/json"}
CONSENT_PURPOSES = ["service_improvement", "statistics_advertising"]


def policy_file(tmp_path: Path, name: str, *, effective: str, access_log: str = "P6M") -> str:
    """The bundled policy as a file, with a new version, effective date and access-log period."""
    text = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text(encoding="utf-8")
    assert 'effective_date = "2026-11-28"' in text
    text = text.replace('version = "2026-11-28"', f'version = "{effective}"', 1)
    text = text.replace('effective_date = "2026-11-28"', f'effective_date = "{effective}"', 1)
    assert '\nperiod = "P3M"' in text
    text = text.replace('\nperiod = "P3M"', f'\nperiod = "{access_log}"', 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def grant(site: Site, subject: str, purposes: list[str], granted: bool = True) -> None:
    services = site.privacy.services
    with site.app.app_context():
        record_consent(
            services.databases.main,
            services.policy,
            subject,
            dict.fromkeys(purposes, granted),
            channel="web",
            now=services.now(),
        )


def granted(site: Site, subject: str) -> list[str]:
    answer = site.app.test_client().get("/privacy/consent", headers={**JSON, "X-Test-Subject": subject})
    assert answer.status_code == 200
    return list(answer.get_json()["granted"])


def cli(site: Site, *args: str) -> Any:
    return site.app.test_cli_runner().invoke(args=["privacy", "policy", *args])


def count(site: Site, table: Any) -> int:
    with site.privacy.services.databases.main.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def changed(
    make_site: Callable[..., Site],
    make_app: Callable[..., Any],
    database_urls: tuple[URL, URL],
    tmp_path: Path,
    smtp: Any,
    clock: Clock,
) -> Iterator[Callable[..., tuple[Site, Site]]]:
    """(site on the bundled policy, site on a new version) on the same databases:
    member 41 granted both consent purposes under the first, member 42 refused them."""

    def factory(effective: str = "2027-02-01", now: str = "2026-12-20T10:00:00+09:00", **kw: str) -> tuple[Site, Site]:
        first = make_site()
        grant(first, "41", CONSENT_PURPOSES)
        grant(first, "42", CONSENT_PURPOSES, granted=False)
        clock.set(now)
        path = policy_file(tmp_path, f"policy-{effective}.toml", effective=effective, **kw)
        second = build_site(make_app, database_urls, tmp_path, smtp, PRIVACY_POLICY=path)
        made.append(second)
        return first, second

    made: list[Site] = []
    yield factory
    for site in made:
        site.close()


def test_every_text_is_recorded_once_with_its_effective_date(changed: Callable[..., tuple[Site, Site]]) -> None:
    _, second = changed()
    with second.app.app_context():
        second.privacy.upgrade()  # again: same text, same version
    assert count(second, policy_versions) == 2
    result = cli(second, "history", "--format", "json")
    assert result.exit_code == 0, result.output
    versions = json.loads(result.output)
    assert [(v["id"], v["version"], v["effective_date"]) for v in versions] == [
        (1, "2026-11-28", "2026-11-28"),
        (2, "2027-02-01", "2027-02-01"),
    ]


def test_history_page_lists_each_version_with_a_readable_diff_in_korean_and_english(
    changed: Callable[..., tuple[Site, Site]],
) -> None:
    _, second = changed()
    client = second.app.test_client()
    ko = client.get("/privacy/policy/history").get_data(as_text=True)
    assert "개인정보 처리방침 변경 이력" in ko
    assert "3개월 → 6개월 (연장) [!]" in ko
    assert "시행일부터 다시 동의가 필요한 목적" in ko and "statistics_advertising" in ko
    assert ko.index("2027-02-01") < ko.index("2026-11-28")  # newest first
    en = client.get("/privacy/policy/history?lang=en").get_data(as_text=True)
    assert "3 months → 6 months (lengthened) [!]" in en
    data = client.get("/privacy/policy/history", headers=JSON).get_json()
    assert [v["id"] for v in data["versions"]] == [2, 1]
    assert data["versions"][0]["current"] and data["versions"][0]["diff"]["material"]
    assert sorted(data["versions"][0]["diff"]["lapsing_purposes"]) == CONSENT_PURPOSES


def test_an_old_version_is_shown_by_its_number_and_a_bad_number_is_refused(
    changed: Callable[..., tuple[Site, Site]],
) -> None:
    _, second = changed()
    client = second.app.test_client()
    old = client.get("/privacy/policy?version=1")
    assert old.status_code == 200
    page = old.get_data(as_text=True)
    assert "이 문서는 이전 버전의 처리방침입니다." in page and "2026-11-28" in page and "3개월" in page
    current = client.get("/privacy/policy").get_data(as_text=True)
    assert "이전 버전" not in current and "6개월" in current and "/privacy/policy/history" in current
    assert client.get("/privacy/policy?version=2").status_code == 200
    missing = client.get("/privacy/policy?version=99", headers=JSON)
    assert missing.status_code == 404 and "no policy version 99" in missing.get_json()["message"]
    for bad in ("abc", "-1", "1.5", "１"):
        answer = client.get(f"/privacy/policy?version={bad}", headers=JSON)
        assert answer.status_code == 400, bad
        assert "expected the number of a recorded version" in answer.get_json()["message"]


def test_consent_a_change_voids_lapses_on_the_effective_date_and_can_be_given_again(
    changed: Callable[..., tuple[Site, Site]], clock: Clock
) -> None:
    _, second = changed()
    assert granted(second, "41") == CONSENT_PURPOSES  # announced, not yet in effect
    clock.set("2027-01-31T23:59:59+09:00")
    assert granted(second, "41") == CONSENT_PURPOSES
    clock.set("2027-02-01T00:00:00+09:00")
    assert granted(second, "41") == []  # asked again: shown as not given
    grant(second, "41", ["statistics_advertising"])
    assert granted(second, "41") == ["statistics_advertising"]


def test_consent_given_under_the_new_version_before_its_effective_date_survives_it(
    changed: Callable[..., tuple[Site, Site]], clock: Clock
) -> None:
    _, second = changed()
    grant(second, "42", ["service_improvement"])  # agreed to the announced text
    clock.set("2027-03-01T12:00:00+09:00")
    assert granted(second, "42") == ["service_improvement"]
    assert granted(second, "41") == []


def test_announce_dry_run_names_who_would_be_told_and_changes_nothing(
    changed: Callable[..., tuple[Site, Site]], smtp: Any
) -> None:
    _, second = changed()
    result = cli(second, "announce", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "matters to members; tell members 30 days before: by 2027-01-02" in result.output
    assert "member 41: service_improvement, statistics_advertising (would be told)" in result.output
    assert "member 42" not in result.output and PROBE_EMAIL not in result.output
    assert count(second, outbox) == 0 and count(second, policy_notices) == 0
    with second.app.app_context():
        second.privacy.services.mailer.flush()
    assert smtp[2].messages == []


def test_announce_mails_the_affected_members_once_through_the_outbox(
    changed: Callable[..., tuple[Site, Site]], smtp: Any
) -> None:
    _, second = changed()
    first_run = cli(second, "announce")
    assert first_run.exit_code == 0, first_run.output
    assert "member 41: service_improvement, statistics_advertising (told)" in first_run.output
    with second.app.app_context():
        second.privacy.services.mailer.flush()
    [mail] = smtp[2].wait(1)
    assert mail["to"] == [PROBE_EMAIL]
    assert "개인정보 처리방침 변경 안내" in mail["subject"]
    body = mail["body"]
    assert "2027-02-01부터 변경됩니다" in body and "3개월 → 6개월 (연장) [!]" in body
    assert "3 months → 6 months (lengthened) [!]" in body
    assert "/privacy/consent" in body and "/privacy/policy/history" in body
    assert count(second, outbox) == 0  # sent: the row and its address are gone

    again = cli(second, "announce", "--format", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["members"] == [
        {"member": "41", "purposes": CONSENT_PURPOSES, "status": "told before"}
    ]
    with second.app.app_context():
        second.privacy.services.mailer.flush()
    assert len(smtp[2].messages) == 1 and count(second, policy_notices) == 1


def test_announce_is_refused_when_the_effective_date_is_closer_than_the_lead_time(
    changed: Callable[..., tuple[Site, Site]], smtp: Any
) -> None:
    _, second = changed(effective="2027-01-10")  # 21 days after 2026-12-20; a material change needs 30
    refused = cli(second, "announce")
    assert refused.exit_code == 1
    assert "must be told 30 days before, by 2026-12-11, and today is 2026-12-20" in refused.output
    assert "--late" in refused.output
    assert count(second, outbox) == 0 and count(second, policy_notices) == 0
    dry = cli(second, "announce", "--dry-run")
    assert dry.exit_code == 0 and "warning: the lead time is not met" in dry.output
    late = cli(second, "announce", "--late")
    assert late.exit_code == 0, late.output
    with second.app.app_context():
        second.privacy.services.mailer.flush()
    assert len(smtp[2].wait(1)) == 1


def test_announce_with_now_decides_the_lead_time_on_that_day(changed: Callable[..., tuple[Site, Site]]) -> None:
    _, second = changed()
    result = cli(second, "announce", "--dry-run", "--now", "2027-01-05T09:00:00")
    assert result.exit_code == 0 and "warning: the lead time is not met" in result.output
    bad = cli(second, "announce", "--now", "next tuesday")
    assert bad.exit_code == 1 and "--now: 'next tuesday' is not an ISO-8601 date-time" in bad.output


def test_a_change_that_voids_no_consent_sends_no_mail(changed: Callable[..., tuple[Site, Site]], smtp: Any) -> None:
    _, second = changed(access_log="P1M")  # shorter: listed, told on the page, no consent lapses
    result = cli(second, "announce")
    assert result.exit_code == 0, result.output
    assert "no change that matters to members; tell members 7 days before" in result.output
    assert "no consent lapses" in result.output
    assert count(second, outbox) == 0


def test_policy_diff_compares_recorded_versions_and_policy_files(
    changed: Callable[..., tuple[Site, Site]], tmp_path: Path
) -> None:
    _, second = changed()
    text = cli(second, "diff", "1", "2")
    assert text.exit_code == 0, text.output
    assert "보유 기간:" in text.output and "3개월 → 6개월 (연장) [!]" in text.output
    english = cli(second, "diff", "1", "2", "--lang", "en")
    assert "3 months → 6 months (lengthened) [!]" in english.output
    as_json = json.loads(
        cli(second, "diff", "casenote", str(tmp_path / "policy-2027-02-01.toml"), "--format", "json").output
    )
    assert as_json["material"] and sorted(as_json["lapsing_purposes"]) == CONSENT_PURPOSES
    bad = cli(second, "diff", "99", str(tmp_path / "missing.toml"))
    assert bad.exit_code == 1
    assert "OLD: no recorded version 99 (recorded: 1, 2)" in bad.output
    assert "NEW: " in bad.output and "cannot read the policy file" in bad.output


def test_a_visitors_cookie_consent_lapses_on_the_effective_date_too(
    changed: Callable[..., tuple[Site, Site]], clock: Clock
) -> None:
    first, second = changed()
    with first.app.app_context():
        services = first.privacy.services
        value = services.consent_cookie.dumps(services.policy, {"statistics_advertising": True})  # under version 1
    client = second.app.test_client()
    client.set_cookie(services.consent_cookie.name, value)
    clock.set("2026-12-21T10:00:00+09:00")
    assert client.get("/privacy/consent", headers=JSON).get_json()["granted"] == ["statistics_advertising"]
    clock.set("2027-02-02T10:00:00+09:00")
    assert client.get("/privacy/consent", headers=JSON).get_json()["granted"] == []


def test_the_old_versions_page_links_its_other_language_to_the_same_version(
    changed: Callable[..., tuple[Site, Site]],
) -> None:
    _, second = changed()
    page = second.app.test_client().get("/privacy/policy?version=1").get_data(as_text=True)
    assert 'href="?lang=en&amp;version=1"' in page


def test_two_announcements_at_once_tell_each_member_once(changed: Callable[..., tuple[Site, Site]], smtp: Any) -> None:
    import threading

    from flask_casenote_privacy.rights.announce import announce

    _, second = changed()
    barrier = threading.Barrier(2)
    told: list[list[str]] = []

    def run() -> None:
        with second.app.app_context():
            barrier.wait()
            told.append(announce(second.privacy.services).told)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(len(t) for t in told) == [0, 1]  # both finished; one told member 41
    with second.app.app_context():
        second.privacy.services.mailer.flush()
    assert len(smtp[2].wait(1)) == 1 and count(second, policy_notices) == 1
