"""The capture and writer keys: where access events go, and checks that fail at
``init_app`` rather than as a 500 inside a request."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ..policy.model import Policy

__all__ = ["ACCESS_EVENT_TARGETS", "access_events", "check_capture"]

ACCESS_EVENT_TARGETS = ("both", "database", "log")


def access_events(config: Any) -> str:
    """Where access events go: ``"both"`` (a row in the access log and the
    ``http.access`` log event), ``"database"`` (the row only) or ``"log"`` (the
    event only, for a log pipeline that keeps and purges it). ``PRIVACY_LOG_ACCESS
    = False`` is the older spelling of ``"database"``."""
    value = config.get("PRIVACY_ACCESS_EVENTS")
    log_access = bool(config.get("PRIVACY_LOG_ACCESS", True))
    if value is None:
        return "both" if log_access else "database"
    if value not in ACCESS_EVENT_TARGETS:
        raise ConfigurationError(
            "PRIVACY_ACCESS_EVENTS", f"{value!r} must be one of {', '.join(map(repr, ACCESS_EVENT_TARGETS))}"
        )
    if not log_access and value != "database":
        raise ConfigurationError(
            "PRIVACY_ACCESS_EVENTS",
            f"{value!r} logs access events but PRIVACY_LOG_ACCESS is False; set only PRIVACY_ACCESS_EVENTS",
        )
    return str(value)


def check_capture(config: Any, policy: Policy) -> None:
    """The capture and writer keys: a clear error now rather than a 500 later."""
    access_events(config)
    for key in ("PRIVACY_TRUSTED_PROXIES",):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(key, f"{value!r} must be a whole number of proxy hops (0 or more)")
    for key in ("PRIVACY_WRITER_BATCH_SIZE", "PRIVACY_WRITER_QUEUE_SIZE", "PRIVACY_CONSENT_COOKIE_MAX_AGE"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(key, f"{value!r} must be a positive whole number")
    for key in (
        "PRIVACY_CAPTURE_EXCLUDE",
        "PRIVACY_CAPTURE_QUERY_PARAMS",
        "PRIVACY_CAPTURE_COOKIES",
        "PRIVACY_CAPTURE_SECRET_ENDPOINTS",
    ):
        value = config[key]
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ConfigurationError(key, f"{value!r} must be a list of strings")
    linger = config["PRIVACY_WRITER_LINGER_SECONDS"]
    if not isinstance(linger, (int, float)) or isinstance(linger, bool) or not 0 <= linger <= 60:
        raise ConfigurationError("PRIVACY_WRITER_LINGER_SECONDS", f"{linger!r} must be a number of seconds, 0 to 60")
    if not isinstance(config["PRIVACY_WRITER_INLINE"], bool):
        raise ConfigurationError("PRIVACY_WRITER_INLINE", f"{config['PRIVACY_WRITER_INLINE']!r} must be True or False")
    items = {i.id for i in policy.items}
    fields = config["PRIVACY_LOG_FIELD_ITEMS"]
    if not isinstance(fields, dict):
        raise ConfigurationError("PRIVACY_LOG_FIELD_ITEMS", "must be a dict of log field name -> item id")
    unknown = sorted(v for v in fields.values() if v not in items)
    if unknown:
        raise ConfigurationError(
            "PRIVACY_LOG_FIELD_ITEMS", f"unknown item id(s) {unknown}; the policy declares {sorted(items)}"
        )
