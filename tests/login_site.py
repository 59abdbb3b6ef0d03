"""A host app as real Flask apps are written: Flask-SQLAlchemy models (a ``User``
with an integer id, its notes) and Flask-Login, signed in through a test route.

Members are read through the app's Flask-SQLAlchemy session, the same one the
extension erases them through: after "withdraw everything" Flask-Login's
``current_user`` is detached from its deleted row, as in production.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class User(db.Model, UserMixin):  # type: ignore[name-defined,misc]
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    is_officer: Mapped[bool] = mapped_column(default=False)


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    text: Mapped[str] = mapped_column(String(200))
    # A usage record: destroyed 3 months after this date (naive UTC), member or not.
    written_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: datetime(2026, 11, 30, 3, 0))


MEMBER_EMAIL = "login.member@example.kr"


def build_login_site(
    make_app: Callable[..., Flask], tmp_path: Path, *, integration: bool = True, **config: Any
) -> Flask:
    """The host app with members 41 (two notes) and 7 (the privacy officer).

    ``integration``: ``privacy.use_flask_login()``; without it, the subject loader the
    quick start used to document, and nothing signs a departed member out."""
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}", PRIVACY_CSRF=False, **config)
    wire_host(app, app.extensions["privacy"], integration=integration)
    return app


def wire_host(app: Flask, privacy: Any, *, integration: bool = True) -> None:
    """What a host's ``create_app`` does after ``privacy.init_app(app)``: Flask-SQLAlchemy,
    Flask-Login, the loaders, the models, a sign-in route; then two members."""
    db.init_app(app)
    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    if integration:
        privacy.use_flask_login()
    else:

        @privacy.subject_loader
        def subject() -> str | None:
            return current_user.get_id() if current_user.is_authenticated else None  # type: ignore[no-any-return]

    @privacy.officer_loader
    def officer() -> str | None:
        return current_user.email if current_user.is_authenticated and current_user.is_officer else None

    privacy.register_model(User, subject="id", items={"name": "name", "email": "email"})
    privacy.register_model(Note, subject="user_id", items={"usage_record": "text"}, occurred_at="written_at")

    @app.get("/login/<int:user_id>")
    def login(user_id: int) -> str:
        login_user(db.session.get(User, user_id), remember=True)
        return "signed in"

    @app.get("/whoami")
    def whoami() -> str:
        return str(current_user.get_id()) if current_user.is_authenticated else "anonymous"

    with app.app_context():
        db.create_all()
        db.session.add(User(id=41, name="김민지", email=MEMBER_EMAIL))
        db.session.add(User(id=7, name="개인정보 보호책임자", email="officer@example.kr", is_officer=True))
        db.session.add_all([Note(user_id=41, text="첫 메모"), Note(user_id=41, text="둘째 메모")])
        db.session.commit()


def host_rows(app: Flask, user_id: int) -> int:
    """How many rows the host still holds for ``user_id`` (the user and their notes)."""
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User).where(User.id == user_id))
        notes = db.session.scalar(select(func.count()).select_from(Note).where(Note.user_id == user_id))
        return int(users or 0) + int(notes or 0)
