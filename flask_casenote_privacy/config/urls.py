"""Where the extension's databases are and where its mail links point: the
``PRIVACY_DATABASE_URI``/``PRIVACY_ARCHIVE_DATABASE_URI`` and ``PRIVACY_EXTERNAL_URL``
keys."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigurationError

__all__ = ["database_url", "external_url", "same_database"]


def external_url(app: Flask) -> str | None:
    """The base of every absolute link in mail, from configuration only: a forged
    ``Host`` header must never choose where a member's withdrawal link points."""
    config = app.config
    raw = config["PRIVACY_EXTERNAL_URL"]
    if raw is None and config.get("SERVER_NAME"):
        scheme = config.get("PREFERRED_URL_SCHEME") or "http"
        root = (config.get("APPLICATION_ROOT") or "/").rstrip("/")
        raw = f"{scheme}://{config['SERVER_NAME']}{root}"
    if raw is None:
        if app.debug or app.testing:
            return None  # links fall back to the request's host: for development only
        raise ConfigurationError(
            "PRIVACY_EXTERNAL_URL",
            "mails carry links to this site; set PRIVACY_EXTERNAL_URL to its public base URL "
            "(e.g. 'https://www.example.com'), or Flask's SERVER_NAME (and PREFERRED_URL_SCHEME). "
            "Links are never built from the request's Host header",
        )
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            "PRIVACY_EXTERNAL_URL", f"{raw!r} must be an http(s) base URL such as 'https://www.example.com'"
        )
    return str(raw).rstrip("/")


def database_url(app: Flask, key: str, default_file: str) -> URL:
    raw = app.config[key]
    if raw is None:
        os.makedirs(app.instance_path, exist_ok=True)
        return URL.create("sqlite", database=os.path.join(app.instance_path, default_file))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(key, f"{raw!r} is not a SQLAlchemy database URL ({exc})") from exc
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = url.database
        if not os.path.isabs(path):
            # Relative SQLite paths live in the instance folder, as in Flask-SQLAlchemy.
            os.makedirs(app.instance_path, exist_ok=True)
            url = url.set(database=os.path.join(app.instance_path, path))
    return url


def same_database(a: URL, b: URL) -> bool:
    """Whether two URLs name the same database (driver and credentials aside)."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        if not a.database or a.database == ":memory:" or not b.database or b.database == ":memory:":
            return False
        return os.path.realpath(a.database) == os.path.realpath(b.database)
    return (a.host or "localhost", a.port, a.database) == (b.host or "localhost", b.port, b.database)
