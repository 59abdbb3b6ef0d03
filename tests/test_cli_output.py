"""``flask privacy ...`` as a real process, in a host whose logging prints INFO on
stdout (``basicConfig(stream=sys.stdout)``, structlog's default logger, a
``print``): stdout carries the command's result only, every log line goes to
stderr, so ``flask privacy export 1 | python -m json.tool`` works; ``purge
--format json`` prints one JSON line per run, as the cron line of docs/purge.md
appends them to a ``.jsonl`` file, and ``--history --format json`` stays indented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # a dozen `flask` processes

TIMEOUT = 120

APP_MODULE = """
import logging
import os
import sys
from datetime import datetime, timezone

import structlog
from flask import Flask

from flask_casenote_privacy import Privacy, SourceRecord

# The host's logging: everything from INFO on stdout, as twelve-factor apps do.
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
host_log = logging.getLogger("cli_app")
events = structlog.get_logger("cli_app")  # structlog left unconfigured: it prints on stdout


class Newsletter:
    items = {"email": "address"}
    retention = None

    def export(self, subject):
        host_log.info("newsletter export for %s", subject)
        events.info("newsletter.export", subject=subject)
        print("a print of the host")
        return [SourceRecord(key=subject, occurred_at=datetime(2026, 1, 5, tzinfo=timezone.utc),
                             data={"address": "member1@example.kr"})]

    def erase(self, subject, items=None):
        host_log.info("newsletter erase for %s", subject)
        return 1

    def find(self, item, value):
        return ["1"] if value == "member1@example.kr" else []


app = Flask("cli_app", instance_path=os.environ["CLI_TEST_INSTANCE"])
app.config.update(
    SECRET_KEY="cli-test-secret",
    PRIVACY_EXTERNAL_URL="http://127.0.0.1",
    PRIVACY_DATABASE_URI=os.environ["CLI_TEST_MAIN"],
    PRIVACY_ARCHIVE_DATABASE_URI=os.environ["CLI_TEST_ARCHIVE"],
    PRIVACY_CAPTURE=False,
)
privacy = Privacy(app)
privacy.register_source("newsletter", Newsletter())
"""


class Host:
    """The app module in tmp_path, driven through ``python -m flask``."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        (tmp_path / "cli_app.py").write_text(APP_MODULE)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
            "CLI_TEST_INSTANCE": str(tmp_path / "instance"),
            "CLI_TEST_MAIN": f"sqlite:///{tmp_path / 'main.sqlite'}",
            "CLI_TEST_ARCHIVE": f"sqlite:///{tmp_path / 'archive.sqlite'}",
        }
        self.command = [sys.executable, "-m", "flask", "--app", "cli_app", "privacy"]

    def run(self, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.command, *args],
            cwd=self.dir,
            env=self.env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr[-3000:])
        return done


@pytest.fixture
def host(tmp_path: Path) -> Host:
    host = Host(tmp_path)
    upgraded = host.run("db", "upgrade")
    # Alembic logs at INFO while it upgrades: on stderr, not among the command's lines.
    assert [line.split(" ", 1)[0] for line in upgraded.stdout.splitlines()] == ["main", "archive"]
    assert "INFO alembic" in upgraded.stderr
    return host


def test_export_piped_into_json_tool_works_while_the_host_logs_on_stdout(host: Host) -> None:
    flask = subprocess.Popen(
        [*host.command, "export", "1", "--reason", "access request"],
        cwd=host.dir,
        env=host.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    tool = subprocess.run(
        [sys.executable, "-m", "json.tool"], stdin=flask.stdout, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert flask.stdout is not None
    flask.stdout.close()
    _, stderr = flask.communicate(timeout=TIMEOUT)
    assert flask.returncode == 0, stderr.decode()
    assert tool.returncode == 0, tool.stderr
    exported = json.loads(tool.stdout)
    assert exported["sources"]["newsletter"]["records"] == [{"address": "member1@example.kr"}]
    logged = stderr.decode()
    assert "INFO cli_app newsletter export for 1" in logged  # the host's stdlib logging
    assert "newsletter.export" in logged  # structlog's default PrintLogger
    assert "a print of the host" in logged


def withdraw(host: Host) -> subprocess.CompletedProcess[str]:
    return host.run(
        "requests", "register", "--subject", "1", "--kind", "withdraw", "--channel", "written", "--scope", "all"
    )


def test_a_command_whose_notice_is_mailed_prints_only_its_json(host: Host) -> None:
    done = withdraw(host)
    request = json.loads(done.stdout)
    assert request["status"] == "completed" and request["subject"] == "1"
    # The extension's own log lines (the mail thread: no mail server here) went to stderr.
    assert "INFO flask_casenote_privacy.mail privacy mail not sent (PRIVACY_MAIL_SERVER unset)" in done.stderr
    assert "INFO cli_app newsletter erase for 1" in done.stderr


def test_purge_json_is_one_line_per_run_and_the_history_stays_indented(host: Host, tmp_path: Path) -> None:
    withdraw(host)  # the erasure writes destruction-ledger rows
    runs = tmp_path / "purge.jsonl"
    for _ in range(2):  # the cron line of docs/purge.md: stdout appended to a .jsonl file
        with runs.open("a") as out:
            host.run("purge", "--format", "json", "--executor", "cron", stdout=out)
    lines = runs.read_text().splitlines()
    assert len(lines) == 2
    reports = [json.loads(line) for line in lines]
    assert reports[0]["run_id"] != reports[1]["run_id"]
    assert all({"run_id", "now", "dry_run", "destroyed", "classes"} <= set(r) for r in reports)

    history = host.run("purge", "--history", "--format", "json").stdout
    assert {row["target"] for row in json.loads(history)} >= {"host:newsletter"}
    assert history.startswith("[\n  {\n    ")  # readable: indented, as the other JSON outputs
