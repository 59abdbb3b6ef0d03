"""The public surface: what ``flask_casenote_privacy`` exports, that each export is
documented, that every exception is exported, and that the layer contract of
``pyproject.toml`` (docs/architecture.md) holds."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import Flask

import flask_casenote_privacy
from flask_casenote_privacy import DataSource, Privacy, PrivacyError, SourceRecord, errors
from flask_casenote_privacy.retention.ledger import destruction_history

ROOT = Path(__file__).resolve().parents[1]

# What a host needs (the extension, the data-source protocol, the policy, periods);
# the exceptions are checked against errors.py below.
HOST_NAMES = {
    "Privacy",
    "DataSource",
    "SourceRecord",
    "ModelSource",
    "Policy",
    "load_policy",
    "check_policy",
    "Period",
    "parse_period",
    "add_period",
    "exclude_privacy_tables",
}


def test_the_host_names_are_exported() -> None:
    assert set(flask_casenote_privacy.__all__) >= HOST_NAMES


def test_all_is_sorted_and_without_duplicates() -> None:
    names = flask_casenote_privacy.__all__
    assert names == sorted(set(names))


@pytest.mark.parametrize("name", flask_casenote_privacy.__all__)
def test_every_exported_name_is_importable_and_documented(name: str) -> None:
    module = importlib.import_module("flask_casenote_privacy")
    obj = getattr(module, name)
    # Its own docstring, not one inherited from a base class.
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    assert doc and doc.strip(), f"flask_casenote_privacy.{name} has no docstring"


def _exception_classes_of_errors_py() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__
    ]


def test_every_exception_of_errors_py_is_exported_and_a_privacy_error() -> None:
    classes = _exception_classes_of_errors_py()
    assert PrivacyError in classes and len(classes) > 1
    for cls in classes:
        assert cls.__name__ in flask_casenote_privacy.__all__, f"{cls.__name__} is not exported"
        assert getattr(flask_casenote_privacy, cls.__name__) is cls
        assert issubclass(cls, PrivacyError)
    assert sorted(errors.__all__) == sorted(cls.__name__ for cls in classes)


def _datasource_example() -> str:
    """The indented ``::`` block of DataSource's docstring."""
    doc = inspect.getdoc(DataSource)
    assert doc is not None
    block = doc.split("::\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


def test_the_datasource_example_is_a_working_source(app: Flask, privacy: Privacy) -> None:
    """The minimal custom source in DataSource's docstring registers, exports and
    is erased (and ledgered) by a withdrawal."""
    namespace: dict[str, object] = {"SourceRecord": SourceRecord, "privacy": privacy}
    exec(compile(_datasource_example(), "DataSource example", "exec"), namespace)
    source = privacy.services.sources["newsletter"]
    assert isinstance(source, DataSource)
    since = datetime(2026, 11, 1, tzinfo=timezone.utc)
    source.rows["41"] = {"address": "kim@example.com", "since": since}  # type: ignore[attr-defined]
    assert privacy.services.find_member("kim@example.com") == ("41", "kim@example.com")
    assert privacy.services.subject_email("41") == "kim@example.com"
    with app.app_context():
        request = privacy.register_request(subject="41", kind="withdraw", channel="web", scope="all")
        ledger = [r for r in destruction_history(privacy.services) if r["run_id"] == request["id"]]
    assert request["status"] == "completed"
    assert source.export("41") == []
    assert [(r["target"], r["count"], r["executor"]) for r in ledger] == [("host:newsletter", 1, "withdrawal")]


def test_the_layer_contract_holds() -> None:
    """``lint-imports`` (import-linter) keeps the contracts of pyproject.toml."""
    pytest.importorskip("importlinter", reason="import-linter is not installed")
    config = ROOT / "pyproject.toml"
    if not config.is_file():
        pytest.skip("no pyproject.toml beside the tests")
    # lint-imports of this interpreter's import-linter, whatever PATH holds.
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    result = subprocess.run(
        [sys.executable, "-c", command, "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout
