"""An app factory, as Flask's tutorial writes one: one module-level ``Privacy`` object,
``init_app`` and ``register_model`` inside ``create_app``, called once per app (every
test of such an app builds a new one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_casenote_privacy import Privacy
from tests.conftest import Clock
from tests.login_site import Note, User, host_rows, wire_host


@pytest.fixture
def privacy(clock: Clock) -> Privacy:
    return Privacy(clock=clock)  # the module-level object of a factory app


@pytest.fixture
def create_app(privacy: Privacy, tmp_path: Path) -> Iterator[Any]:
    built: list[Flask] = []

    def factory(name: str) -> Flask:
        folder = tmp_path / name
        app = Flask("factoryapp", instance_path=str(folder / "instance"))
        app.config.update(
            TESTING=True,
            SECRET_KEY="test-secret-key",
            PRIVACY_CSRF=False,
            PRIVACY_AUTO_UPGRADE=True,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'host.sqlite'}",
        )
        privacy.init_app(app)
        wire_host(app, privacy)  # Flask-Login, register_model(User, ...), register_model(Note, ...)
        built.append(app)
        return app

    yield factory
    for app in built:
        with app.app_context():
            privacy.close()


def test_three_apps_from_one_factory_register_the_same_models_and_each_works(create_app: Any) -> None:
    apps = [create_app(name) for name in ("first", "second", "third")]

    for n, app in enumerate(apps):
        client = app.test_client()
        client.get("/login/41")
        answer = client.post("/privacy/withdraw", json={"scope": "all"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["status"] == "completed"
        assert client.get("/whoami").get_data(as_text=True) == "anonymous"
        # Each app erased its own member only: the apps built after it still hold theirs.
        assert [host_rows(other, 41) for other in apps] == [0] * (n + 1) + [3] * (len(apps) - n - 1)


def test_the_same_model_under_a_taken_name_with_other_options_is_refused_naming_the_difference(
    create_app: Any, privacy: Privacy
) -> None:
    create_app("first")

    with pytest.raises(ValueError, match=r"'user' is already registered, and User differs in items"):
        privacy.register_model(User, subject="id", items={"name": "name"})
    with pytest.raises(ValueError, match=r"'user' is already registered, and Note differs in model, subject"):
        privacy.register_model(Note, subject="user_id", name="user")


def test_a_session_factory_made_anew_for_each_app_is_refused_with_what_to_do_instead(
    create_app: Any, privacy: Privacy
) -> None:
    create_app("first")

    with pytest.raises(ValueError, match=r"differs in session_factory.*opens the current app's session"):
        privacy.register_model(
            User, subject="id", items={"name": "name", "email": "email"}, session_factory=lambda: None
        )


def test_another_source_object_under_a_taken_name_is_refused(create_app: Any, privacy: Privacy) -> None:
    create_app("first")

    class Newsletter:
        def __init__(self) -> None:
            self.items = {"email": "address"}
            self.retention = None

        def export(self, subject: str) -> list[Any]:
            return []

        def erase(self, subject: str, items: Any = None) -> int:
            return 0

        def find(self, item: str, value: str) -> list[str]:
            return []

    newsletter = Newsletter()
    assert privacy.register_source("newsletter", newsletter) is newsletter
    assert privacy.register_source("newsletter", newsletter) is newsletter  # the same object: a no-op
    with pytest.raises(ValueError, match="'newsletter' is already registered, with another source"):
        privacy.register_source("newsletter", Newsletter())
    with pytest.raises(ValueError, match="registered with register_source, not as a model"):
        privacy.register_model(User, subject="id", name="newsletter")
