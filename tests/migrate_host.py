"""A host app with its own Flask-Migrate history, whose database also holds the
privacy tables (tests/test_host_migrations.py runs `flask db ...` on it).

Environment: ``HOST_DATABASE_URI`` (the host's and the privacy main database),
``HOST_ARCHIVE_URI``, ``HOST_MIGRATIONS`` (the migrations folder),
``HOST_INSTANCE``; ``HOST_STAGE=2`` adds a column to the host's model (a change
autogenerate must still see); ``HOST_FILTER=0`` leaves out the privacy filter,
as a host who has not configured it.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flask_casenote_privacy import Privacy, exclude_privacy_tables

db = SQLAlchemy()


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "host_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    if os.environ.get("HOST_STAGE") == "2":
        body: Mapped[str | None] = mapped_column(Text, nullable=True)


def create_app() -> Flask:
    app = Flask(__name__, instance_path=os.environ["HOST_INSTANCE"])
    app.config.update(
        TESTING=True,
        SECRET_KEY="migrate-host-secret",
        SQLALCHEMY_DATABASE_URI=os.environ["HOST_DATABASE_URI"],
        PRIVACY_DATABASE_URI=os.environ["HOST_DATABASE_URI"],  # one database for the host and the extension
        PRIVACY_ARCHIVE_DATABASE_URI=os.environ["HOST_ARCHIVE_URI"],
    )
    db.init_app(app)
    hooks = {"include_name": exclude_privacy_tables} if os.environ.get("HOST_FILTER", "1") == "1" else {}
    Migrate(app, db, directory=os.environ["HOST_MIGRATIONS"], **hooks)
    Privacy(app)
    return app
