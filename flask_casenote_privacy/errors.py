"""Exceptions: configuration mistakes, and HTTP errors the host can override."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest

__all__ = ["ConfigurationError", "InvalidRequest", "request_fields"]


class ConfigurationError(RuntimeError):
    """The app's ``PRIVACY_*`` configuration is wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class InvalidRequest(BadRequest):
    """Bad input from a client: answered with 400 and a message, nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(description=message)


def request_fields(*, multi: bool = False) -> dict[str, Any]:
    """The fields of a JSON object body or a form, as a dict (``{}`` for anything
    else); with ``multi``, form fields are lists (checkboxes)."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return {k: v for k, v in request.form.lists()} if multi else dict(request.form.items())
