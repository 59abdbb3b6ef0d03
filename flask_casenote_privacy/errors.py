"""Every exception of the package, in one place. None of them is an HTTP error:
``web/`` maps them to HTTP answers and the CLI to exit codes.

Catch :class:`PrivacyError` to catch them all.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "InvalidRequest",
    "NotAllowed",
    "NotFound",
    "PeriodError",
    "PolicyError",
    "PrivacyError",
    "RateLimited",
    "SignInRequired",
    "TokenError",
    "UnknownPolicyId",
]


class PrivacyError(Exception):
    """The base of every error this package raises on purpose; ``message`` says why.

    Host code that calls the extension can catch them all at once::

        try:
            privacy.register_request(subject=member_id, kind="access", channel="written")
        except PrivacyError as exc:
            flash(exc.message)
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ConfigurationError(PrivacyError, RuntimeError):
    """The app's ``PRIVACY_*`` configuration is wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class PolicyError(PrivacyError, ValueError):
    """A policy file is invalid; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid policy {source} ({len(problems)} problem(s)):\n{lines}")


class PeriodError(PrivacyError, ValueError):
    """A duration or time zone this package does not understand (e.g. not ISO-8601)."""


class UnknownPolicyId(PrivacyError, KeyError):
    """An id the policy does not declare (a purpose, item, retention class, ...)."""

    def __init__(self, what: str, entry_id: str) -> None:
        self.what = what
        self.entry_id = entry_id
        super().__init__(f"the policy has no {what} {entry_id!r}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class InvalidRequest(PrivacyError, ValueError):
    """Bad input from a client or an operator: nothing was changed (HTTP 400, CLI exit 1)."""


class NotFound(PrivacyError, LookupError):
    """No such request, or not one the asker may see (HTTP 404, CLI exit 1)."""


class SignInRequired(PrivacyError):
    """The route acts for a signed-in member and nobody is signed in (HTTP 401)."""


class NotAllowed(PrivacyError):
    """The asker may not use this page, e.g. the officer pages (HTTP 403)."""


class RateLimited(PrivacyError):
    """Too many requests from one address or client in a short time (HTTP 429)."""


class TokenError(PrivacyError):
    """Why a withdrawal link cannot be used: ``reason`` is expired, invalid or used."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"withdrawal link {reason}")
