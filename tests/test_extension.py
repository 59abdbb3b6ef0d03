"""The Privacy extension: init_app, configuration defaults and misconfiguration."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from flask_casenote_privacy import ConfigurationError, Privacy
from flask_casenote_privacy.config import DEFAULTS


def bare_app(tmp_path: Path, **config: object) -> Flask:
    app = Flask("bare", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="s3cret", PRIVACY_EXTERNAL_URL="https://host.example")
    app.config.update(config)
    return app


def test_extension_registers_itself_and_defaults_every_key(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    privacy = Privacy(app)
    assert app.extensions["privacy"] is privacy
    for key in DEFAULTS:
        assert key in app.config
    assert app.config["PRIVACY_POLICY"] == "casenote"
    assert app.config["PRIVACY_URL_PREFIX"] == "/privacy"


def test_init_app_pattern_with_one_extension_for_several_apps(tmp_path: Path) -> None:
    privacy = Privacy()
    first = bare_app(tmp_path / "a")
    second = bare_app(tmp_path / "b", PRIVACY_URL_PREFIX="/legal")
    privacy.init_app(first)
    privacy.init_app(second)
    assert first.test_client().get("/privacy/policy").status_code == 200
    assert second.test_client().get("/legal/policy").status_code == 200
    with second.app_context():
        assert privacy.services.settings.url_prefix == "/legal"
    with pytest.raises(RuntimeError, match="outside of an application context"):
        _ = privacy.policy


def test_second_init_app_on_the_same_app_raises_with_advice(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    privacy = Privacy(app)
    with pytest.raises(RuntimeError, match="already initialised"):
        privacy.init_app(app)


def test_host_config_wins_over_defaults(tmp_path: Path) -> None:
    app = bare_app(tmp_path, PRIVACY_URL_PREFIX="/p")
    Privacy(app)
    assert app.config["PRIVACY_URL_PREFIX"] == "/p"
    assert app.test_client().get("/p/policy").status_code == 200
    assert app.test_client().get("/privacy/policy").status_code == 404


def test_missing_secret_key_fails_at_init_naming_the_key(tmp_path: Path) -> None:
    app = Flask("nokey", instance_path=str(tmp_path))
    with pytest.raises(ConfigurationError, match="SECRET_KEY") as info:
        Privacy(app)
    assert info.value.key == "SECRET_KEY"
    assert "privacy" not in app.extensions


def test_archive_uri_equal_to_main_fails_naming_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'same.sqlite'}"
    app = bare_app(tmp_path, PRIVACY_DATABASE_URI=url, PRIVACY_ARCHIVE_DATABASE_URI=url)
    with pytest.raises(ConfigurationError, match="PRIVACY_ARCHIVE_DATABASE_URI") as info:
        Privacy(app)
    assert "separate" in str(info.value)


def test_archive_uri_naming_the_same_server_database_through_another_driver_fails(tmp_path: Path) -> None:
    app = bare_app(
        tmp_path,
        PRIVACY_DATABASE_URI="postgresql+psycopg://u@db.example:5432/privacy",
        PRIVACY_ARCHIVE_DATABASE_URI="postgresql://other@db.example:5432/privacy",
    )
    with pytest.raises(ConfigurationError, match="PRIVACY_ARCHIVE_DATABASE_URI"):
        Privacy(app)


def test_relative_sqlite_paths_resolve_into_the_instance_folder(tmp_path: Path) -> None:
    app = bare_app(tmp_path, PRIVACY_DATABASE_URI="sqlite:///main.db", PRIVACY_ARCHIVE_DATABASE_URI="sqlite:///arch.db")
    privacy = Privacy(app)
    with app.app_context():
        assert privacy.services.databases.main_url.database == str(tmp_path / "instance" / "main.db")
        # the same relative name for both would be one file: refused
    app2 = bare_app(
        tmp_path / "x", PRIVACY_DATABASE_URI="sqlite:///a.db", PRIVACY_ARCHIVE_DATABASE_URI="sqlite:///a.db"
    )
    with pytest.raises(ConfigurationError, match="PRIVACY_ARCHIVE_DATABASE_URI"):
        Privacy(app2)


def test_unknown_preset_fails_naming_the_key(tmp_path: Path) -> None:
    app = bare_app(tmp_path, PRIVACY_POLICY="no_such_preset")
    with pytest.raises(ConfigurationError, match="PRIVACY_POLICY") as info:
        Privacy(app)
    assert "unknown preset 'no_such_preset'" in str(info.value)


def test_invalid_policy_file_fails_listing_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "1"\n[controller]\nname = "X"\n', encoding="utf-8")
    app = bare_app(tmp_path, PRIVACY_POLICY=str(bad))
    with pytest.raises(ConfigurationError, match="PRIVACY_POLICY") as info:
        Privacy(app)
    message = str(info.value)
    assert "missing required key 'officer'" in message
    assert "missing required key 'destruction'" in message


def test_bad_database_url_fails_naming_the_key(tmp_path: Path) -> None:
    app = bare_app(tmp_path, PRIVACY_DATABASE_URI="not a url")
    with pytest.raises(ConfigurationError, match="PRIVACY_DATABASE_URI"):
        Privacy(app)


def test_bad_timezone_fails_naming_the_key(tmp_path: Path) -> None:
    app = bare_app(tmp_path, PRIVACY_TIMEZONE="Mars/Olympus")
    with pytest.raises(ConfigurationError, match="PRIVACY_TIMEZONE"):
        Privacy(app)


def test_bad_url_prefix_fails_naming_the_key(tmp_path: Path) -> None:
    app = bare_app(tmp_path, PRIVACY_URL_PREFIX="privacy/")
    with pytest.raises(ConfigurationError, match="PRIVACY_URL_PREFIX"):
        Privacy(app)


def test_constructor_policy_beats_config(tmp_path: Path) -> None:
    from flask_casenote_privacy import load_policy

    policy = load_policy("casenote")
    app = bare_app(tmp_path, PRIVACY_POLICY="no_such_preset")
    privacy = Privacy(app, policy=policy)
    with app.app_context():
        assert privacy.policy is policy


def test_timezone_config_overrides_the_policy_calendar(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    app = bare_app(tmp_path, PRIVACY_TIMEZONE="UTC")
    privacy = Privacy(app)
    with app.app_context():
        # 2026-11-30T20:00Z is still 11-30 in UTC: + P3M stays in February
        assert (
            privacy.expires_at("access_log", datetime(2026, 11, 30, 20, tzinfo=timezone.utc)).date().isoformat()
            == "2027-02-28"
        )


def test_expires_at_follows_the_seoul_calendar(app: Flask) -> None:
    from datetime import datetime, timezone

    privacy = app.extensions["privacy"]
    with app.app_context():
        late_utc = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)  # 12-01 05:00 in Seoul
        assert privacy.expires_at("access_log", late_utc).isoformat() == "2027-03-01T05:00:00+09:00"
        noon_kst = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
        assert privacy.expires_at("access_log", noon_kst).isoformat() == "2027-02-28T12:00:00+09:00"
        assert privacy.expires_at("membership", noon_kst) is None
        with pytest.raises(KeyError, match="no retention class 'nope'"):
            privacy.expires_at("nope", noon_kst)


def test_clock_is_injected(app: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    privacy = app.extensions["privacy"]
    clock.set("2031-01-01T00:00:00+09:00")
    assert privacy.now().isoformat() == "2030-12-31T15:00:00+00:00"


def test_naive_clock_is_refused(tmp_path: Path) -> None:
    from datetime import datetime

    app = bare_app(tmp_path)
    privacy = Privacy(app, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(RuntimeError, match="aware"):
        privacy.now()


def test_loaders_default_to_anonymous_and_no_officer(app: Flask) -> None:
    privacy = app.extensions["privacy"]
    with app.test_request_context("/"):
        assert privacy.current_subject() is None
        assert privacy.services.is_officer() is False

    @privacy.subject_loader
    def load() -> int:
        return 41

    @privacy.officer_loader
    def officer() -> bool:
        return True

    with app.test_request_context("/"):
        assert privacy.current_subject() == "41"
        assert privacy.services.is_officer() is True
