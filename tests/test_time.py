"""Time: the system clock's zone never changes a decision. A purge run with TZ=UTC
decides exactly as one with TZ=Asia/Seoul (and one in New York), because every
instant is stored in UTC and every period is counted on the policy's calendar."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from flask_casenote_privacy.storage.tables import access_log

pytestmark = pytest.mark.slow  # each test runs purges in subprocesses under several TZ values

ROOT = Path(__file__).resolve().parent.parent
# Requests made at instants around Seoul's month ends and a leap day.
REQUESTS = [
    "2026-11-30T12:00:00+09:00",  # expires 2027-02-28 12:00 KST (clamped)
    "2026-11-30T20:00:00+00:00",  # already 12-01 05:00 in Seoul: expires 2027-03-01 05:00 KST
    "2023-11-29T09:00:00+09:00",  # expires 2024-02-29 09:00 KST (leap year)
    "2026-12-31T23:59:59+09:00",  # expires 2027-03-31 23:59:59 KST
]


def _app_module(tmp: Path) -> Path:
    module = tmp / "timeapp.py"
    module.write_text(
        textwrap.dedent("""
        import os
        from flask import Flask
        from flask_casenote_privacy import Privacy
        app = Flask("timeapp", instance_path=os.environ["APP_INSTANCE"])
        app.config.update(SECRET_KEY="t", PRIVACY_LOG_ACCESS=False, PRIVACY_EXTERNAL_URL="http://127.0.0.1")
        privacy = Privacy(app)
    """)
    )
    return module


def _run(tmp: Path, instance: Path, tz: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": tz, "APP_INSTANCE": str(instance), "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "timeapp", "privacy", *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _seed(tmp: Path) -> Path:
    instance = tmp / "seed"
    _app_module(tmp)
    assert _run(tmp, instance, "UTC", "db", "upgrade").returncode == 0
    engine = create_engine(f"sqlite:///{instance / 'privacy.sqlite'}")
    from flask_casenote_privacy.periods import add_period, parse_period, zone

    seoul, p3m = zone("Asia/Seoul"), parse_period("P3M")
    rows = []
    for n, when in enumerate(REQUESTS):
        at = datetime.fromisoformat(when).astimezone(timezone.utc)
        rows.append(
            {
                "event_id": f"t{n:031d}",
                "occurred_at": at,
                "retention": "access_log",
                "expires_at": add_period(at, p3m, seoul),
                "purposes": "security",
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(access_log), rows)
    engine.dispose()
    return instance


@pytest.mark.parametrize(
    "now",
    [
        "2027-02-28T11:59:59",  # a wall-clock --now is read on the policy's calendar (KST)
        "2027-02-28T12:00:00",
        "2027-03-01T05:00:00+09:00",
        "2024-02-29T00:00:00Z",
        "2027-03-31T14:59:59Z",
    ],
)
def test_purge_decides_the_same_whatever_the_system_time_zone(tmp_path: Path, now: str) -> None:
    seed = _seed(tmp_path)
    outcomes = {}
    for tz in ("UTC", "Asia/Seoul", "America/New_York"):
        instance = tmp_path / tz.replace("/", "_")
        shutil.copytree(seed, instance)
        result = _run(tmp_path, instance, tz, "purge", "--now", now, "--format", "json", "--class", "access_log")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        outcomes[tz] = [(c["retention"], c["destroyed"], c["kept"], c["next_expiry"]) for c in report["classes"]]
        assert report["now"].endswith("+09:00")  # reported on the policy's calendar
    assert outcomes["UTC"] == outcomes["Asia/Seoul"] == outcomes["America/New_York"]


def test_expiry_instants_follow_the_seoul_calendar_at_month_ends_and_leap_days(tmp_path: Path) -> None:
    seed = _seed(tmp_path)
    # one second before and at each expiry, from a UTC system clock
    expected = [
        ("2024-02-29T08:59:59", 0),
        ("2024-02-29T09:00:00", 1),  # the leap day
        ("2027-02-28T11:59:59", 1),
        ("2027-02-28T12:00:00", 2),
        ("2027-03-01T04:59:59", 2),
        ("2027-03-01T05:00:00", 3),
        ("2027-03-31T23:59:58", 3),
        ("2027-03-31T23:59:59", 4),
    ]
    instance = tmp_path / "check"
    shutil.copytree(seed, instance)
    for now, destroyed_total in expected:
        result = _run(tmp_path, instance, "UTC", "purge", "--now", now, "--format", "json", "--dry-run")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        destroyed = {c["retention"]: c["destroyed"] for c in report["classes"]}["access_log"]
        assert destroyed == destroyed_total, now
