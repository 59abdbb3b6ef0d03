"""`flask privacy policy init`: a starter policy for a company that is not Casenote."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from flask_casenote_privacy import ConfigurationError, Privacy
from flask_casenote_privacy.cli import privacy_cli
from flask_casenote_privacy.policy.loader import load_policy, parse_policy, starter_policy
from flask_casenote_privacy.policy.validation import PLACEHOLDER

PLACEHOLDER_VALUE = re.compile(r'"<<FILL IN: [^"]*>>"')

# Every company fact the starter asks for, by key path.
EXPECTED_PLACEHOLDERS = [
    "version",
    "effective_date",
    "controller.name.ko",
    "controller.name.en",
    "controller.homepage",
    "controller.intro.ko",
    "controller.intro.en",
    "officer.name",
    "officer.name_en",
    "officer.email",
    "officer.phone",
    "officer.title.ko",
    "officer.title.en",
    "purposes[1] (service_improvement).refusal_consequence.ko",
    "purposes[1] (service_improvement).refusal_consequence.en",
    "purposes[3] (statistics_advertising).refusal_consequence.ko",
    "purposes[3] (statistics_advertising).refusal_consequence.en",
    "recipients[0] (payment_agent).name.ko",
    "recipients[0] (payment_agent).name.en",
    "recipients[0] (payment_agent).purpose.ko",
    "recipients[0] (payment_agent).purpose.en",
    "recipients[1] (hosting).name.ko",
    "recipients[1] (hosting).name.en",
    "recipients[2] (mail).name.ko",
    "recipients[2] (mail).name.en",
    "rights.channels.ko",
    "rights.channels.en",
    "department.name.ko",
    "department.name.en",
    "department.phone",
    "department.email",
    "safety.measures[0]",
    "safety.measures[1]",
    "safety.measures[2]",
    "children.guardian_consent",
]


def fill_in(text: str) -> str:
    """What the host does: each placeholder replaced by its company's fact."""

    def value(line: str) -> str:
        key = line.split("=", 1)[0].strip()
        if key in ("version", "effective_date"):
            return '"2027-03-01"'
        if key == "email":
            return '"privacy@hanbit.example"'
        if key == "homepage":
            return '"https://hanbit.example"'
        if key == "guardian_consent":
            return "false"
        if key == "name" and "controller" in current:
            return '{ ko = "한빛전자 주식회사", en = "Hanbit Electronics Co." }'
        return '"Hanbit Electronics"'

    lines = []
    current = ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line
        if PLACEHOLDER in line:
            key = line.split("=", 1)[0]
            if line.count(PLACEHOLDER) > 1 or (key.strip() == "name" and "controller" in current):
                line = f"{key}= {value(line)}"
            else:
                line = PLACEHOLDER_VALUE.sub(value(line), line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_init_writes_the_starter_in_the_current_directory(
    runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["privacy", "policy", "init"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "privacy-policy.toml"
    assert written.read_text(encoding="utf-8") == starter_policy()
    assert "Casenote Inc." not in starter_policy()
    assert "케이스노트" not in starter_policy()
    assert "casenote.kr" not in starter_policy()


def test_init_refuses_to_overwrite_unless_forced(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("mine", encoding="utf-8")
    result = runner.invoke(args=["privacy", "policy", "init", str(path)])
    assert result.exit_code == 1
    assert "exists; pass --force" in result.output
    assert path.read_text(encoding="utf-8") == "mine"
    result = runner.invoke(args=["privacy", "policy", "init", "--force", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == starter_policy()


def test_check_and_start_up_name_every_placeholder_and_change_nothing(
    runner: Any, tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    path = tmp_path / "privacy-policy.toml"
    assert runner.invoke(args=["privacy", "policy", "init", str(path)]).exit_code == 0
    before = path.read_bytes()

    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: {len(EXPECTED_PLACEHOLDERS)} problem(s)" in result.output
    for where in EXPECTED_PLACEHOLDERS:
        assert f"  - {where}: still a placeholder to fill in (<<FILL IN: " in result.output
    # each placeholder once, and nothing else (an unfilled email is not also "not an email")
    assert result.output.count("  - ") == len(EXPECTED_PLACEHOLDERS)

    with pytest.raises(ConfigurationError) as excinfo:
        make_app(upgrade=False, PRIVACY_POLICY=str(path))
    assert excinfo.value.key == "PRIVACY_POLICY"
    for where in EXPECTED_PLACEHOLDERS:
        assert f"{where}: still a placeholder" in str(excinfo.value)
    assert path.read_bytes() == before


def test_filled_in_starter_passes_check_and_its_page_names_the_new_company(
    runner: Any, tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    path = tmp_path / "privacy-policy.toml"
    assert runner.invoke(args=["privacy", "policy", "init", str(path)]).exit_code == 0
    path.write_text(fill_in(path.read_text(encoding="utf-8")), encoding="utf-8")

    result = runner.invoke(args=["privacy", "policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: valid (version 2027-03-01, 11 items, 5 purposes, 6 retention classes)" in result.output

    app = make_app(PRIVACY_POLICY=str(path))
    client = app.test_client()
    for lang, name in (("ko", "한빛전자 주식회사"), ("en", "Hanbit Electronics Co.")):
        page = client.get(f"/privacy/policy?lang={lang}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert name in html
        assert "privacy@hanbit.example" in html
        for casenote in ("Casenote", "케이스노트", "casenote.kr", "강효은", "NICE Payments", "나이스페이먼츠"):
            assert casenote not in html


def test_starter_keeps_the_presets_structure() -> None:
    starter = parse_policy(fill_in(starter_policy()))
    preset = load_policy("casenote")
    assert [i for i in starter.items] == [i for i in preset.items]
    # What refusing an optional purpose means is the company's to say (a placeholder).
    assert [replace(p, refusal_consequence=None) for p in starter.purposes] == [
        replace(p, refusal_consequence=None) for p in preset.purposes
    ]
    assert [p.id for p in starter.purposes if p.refusal_consequence] == [p.id for p in preset.consent_purposes]
    assert starter.retention == preset.retention
    assert starter.refusal_grounds == preset.refusal_grounds
    assert starter.destruction == preset.destruction
    assert starter.cookies == preset.cookies
    # The payment agent as in the preset; then the hosting and mail processors the seed does not name.
    assert [(r.kind, r.items) for r in starter.recipients[:1]] == [(r.kind, r.items) for r in preset.recipients]
    assert [(r.id, r.relationship) for r in starter.recipients[1:]] == [
        ("hosting", "entrustment"),
        ("mail", "entrustment"),
    ]


# -- PRIVACY_DEFAULT_LANGUAGE ------------------------------------------------------


def test_default_language_is_the_policys_first(make_app: Callable[..., Flask]) -> None:
    html = make_app().test_client().get("/privacy/policy").get_data(as_text=True)
    assert "주식회사 케이스노트" in html
    assert "Casenote Inc." not in html


def test_default_language_setting_chooses_the_pages_language(make_app: Callable[..., Flask]) -> None:
    client = make_app(PRIVACY_DEFAULT_LANGUAGE="en").test_client()
    html = client.get("/privacy/policy").get_data(as_text=True)
    assert "Casenote Inc." in html
    assert "주식회사 케이스노트" not in html
    assert "주식회사 케이스노트" in client.get("/privacy/policy?lang=ko").get_data(as_text=True)


def test_default_language_outside_the_policy_is_refused_naming_the_key(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigurationError, match="PRIVACY_DEFAULT_LANGUAGE") as excinfo:
        make_app(upgrade=False, PRIVACY_DEFAULT_LANGUAGE="fr")
    assert excinfo.value.key == "PRIVACY_DEFAULT_LANGUAGE"
    assert "'fr' is not a language of the policy (ko, en)" in str(excinfo.value)


# -- an app that cannot start until its policy file is written ---------------------------
# The quick start's app sets PRIVACY_POLICY = "<its folder>/privacy-policy.toml" in
# create_app(), before that file exists: `flask privacy ...` must still init and check it.


def app_expecting(path: Path, instance: Path) -> Callable[[], Flask]:
    def create_app() -> Flask:
        app = Flask("policyhost", instance_path=str(instance))
        app.config.update(SECRET_KEY="test-secret-key", TESTING=True, PRIVACY_POLICY=str(path))
        Privacy(app)
        return app

    return create_app


def test_init_and_check_work_while_the_app_cannot_start_without_the_file(tmp_path: Path) -> None:
    path = tmp_path / "privacy-policy.toml"
    cli = CliRunner()
    script = ScriptInfo(create_app=app_expecting(path, tmp_path / "instance"))
    with pytest.raises(ConfigurationError, match="cannot read the policy file"):
        script.load_app()

    written = cli.invoke(privacy_cli, ["policy", "init", str(path)], obj=script)
    assert written.exit_code == 0, written.output
    assert path.read_text(encoding="utf-8") == starter_policy()

    # The app's own policy, named by its configuration: every placeholder, no traceback.
    own = cli.invoke(privacy_cli, ["policy", "check"], obj=ScriptInfo(create_app=app_expecting(path, tmp_path)))
    assert own.exit_code == 1
    assert f"{path}: {len(EXPECTED_PLACEHOLDERS)} problem(s)" in own.output
    assert isinstance(own.exception, SystemExit)  # exit 1 with the problems listed, not a ConfigurationError

    # A file named on the command line: checked under the default configuration.
    named = cli.invoke(
        privacy_cli, ["policy", "check", str(path)], obj=ScriptInfo(create_app=app_expecting(path, tmp_path))
    )
    assert named.exit_code == 1
    assert "note: the app does not start yet (PRIVACY_POLICY)" in named.output
    assert f"{path}: {len(EXPECTED_PLACEHOLDERS)} problem(s)" in named.output

    path.write_text(fill_in(path.read_text(encoding="utf-8")), encoding="utf-8")
    done = cli.invoke(privacy_cli, ["policy", "check"], obj=ScriptInfo(create_app=app_expecting(path, tmp_path)))
    assert done.exit_code == 0, done.output
    assert f"{path}: valid (version 2027-03-01" in done.output


@pytest.mark.slow  # a `flask` subprocess, as the host runs it
def test_flask_privacy_policy_init_is_a_flask_command_even_when_the_app_cannot_start(tmp_path: Path) -> None:
    # The `privacy` group is also a Flask plugin command (pyproject's flask.commands
    # entry point), so the flask CLI finds it without loading the app.
    (tmp_path / "policyhost.py").write_text(
        "from flask import Flask\n"
        "from flask_casenote_privacy import Privacy\n"
        "def create_app():\n"
        "    app = Flask(__name__, instance_path=__file__.rsplit('/', 1)[0] + '/instance')\n"
        "    app.config.update(SECRET_KEY='s', TESTING=True, PRIVACY_POLICY='privacy-policy.toml')\n"
        "    Privacy(app)\n"
        "    return app\n",
        encoding="utf-8",
    )

    def flask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "policyhost", "privacy", "policy", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    init = flask("init")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "privacy-policy.toml").read_text(encoding="utf-8") == starter_policy()
    check = flask("check")
    assert check.returncode == 1
    assert f"privacy-policy.toml: {len(EXPECTED_PLACEHOLDERS)} problem(s)" in check.stderr
    assert "Traceback" not in check.stderr
