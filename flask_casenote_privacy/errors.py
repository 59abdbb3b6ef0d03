"""Exceptions: configuration mistakes, and HTTP errors the host can override."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest

__all__ = ["ConfigurationError", "InvalidRequest"]


class ConfigurationError(RuntimeError):
    """The app's ``PRIVACY_*`` configuration is wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class InvalidRequest(BadRequest):
    """Bad input from a client: answered with 400 and a message, nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(description=message)
