"""The ``PRIVACY_*`` configuration keys, their defaults, and their checks.

Every key is documented in ``docs/configuration.md``; :func:`apply_defaults`
sets each with ``setdefault`` so the host's values always win.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigurationError
from .mail import MailSettings
from .periods import Period, PeriodError, parse_period, zone
from .policy.loader import CAPTURE_RETENTION, PROVISION_RETENTION, PolicyError, load_policy, usage_problems
from .policy.model import Policy

__all__ = ["DEFAULTS", "Settings", "apply_defaults", "read_settings"]

MAIN_SQLITE = "privacy.sqlite"
ARCHIVE_SQLITE = "privacy-archive.sqlite"

DEFAULTS: dict[str, Any] = {
    "PRIVACY_POLICY": "casenote",
    "PRIVACY_DATABASE_URI": None,  # None: sqlite file in the instance folder
    "PRIVACY_ARCHIVE_DATABASE_URI": None,  # None: a second sqlite file there
    "PRIVACY_TIMEZONE": None,  # None: the policy's time zone (casenote: Asia/Seoul)
    "PRIVACY_URL_PREFIX": "/privacy",
    "PRIVACY_DEFAULT_LANGUAGE": None,  # None: the policy's first language; pages without ?lang=
    "PRIVACY_EXTERNAL_URL": None,  # None: SERVER_NAME + PREFERRED_URL_SCHEME (required outside debug/testing)
    "PRIVACY_AUTO_UPGRADE": False,
    "PRIVACY_ENGINE_OPTIONS": {},
    # consent
    "PRIVACY_CSRF": True,
    "PRIVACY_CONSENT_COOKIE_NAME": "privacy_consent",
    "PRIVACY_CONSENT_COOKIE_MAX_AGE": 365 * 24 * 3600,
    # capture
    "PRIVACY_CAPTURE": True,
    "PRIVACY_CAPTURE_RETENTION": CAPTURE_RETENTION,
    "PRIVACY_CAPTURE_EXCLUDE": [],
    "PRIVACY_CAPTURE_QUERY_PARAMS": [],
    "PRIVACY_CAPTURE_COOKIES": [],
    "PRIVACY_CAPTURE_SECRET_ENDPOINTS": [],  # host endpoints whose path holds a secret: stored as the rule
    "PRIVACY_TRUSTED_PROXIES": 0,
    "PRIVACY_LOG_ACCESS": True,
    "PRIVACY_ACCESS_EVENTS": None,  # None: "both", or "database" when PRIVACY_LOG_ACCESS is False
    "PRIVACY_LOG_FIELD_ITEMS": {},
    # the writer
    "PRIVACY_CAPTURE_SYNC": False,
    "PRIVACY_WRITER_BATCH_SIZE": 500,
    "PRIVACY_WRITER_QUEUE_SIZE": 10_000,
    "PRIVACY_WRITER_RETRY_SECONDS": 5.0,
    "PRIVACY_WRITER_LINGER_SECONDS": 0.25,  # a batch's first event waits at most this long
    "PRIVACY_WRITER_INLINE": False,  # True: the request that fills a batch writes it
    "PRIVACY_SPOOL_DIR": None,  # None: <instance folder>/privacy-spool
    # subject rights
    "PRIVACY_REQUEST_DEADLINE": "P10D",
    "PRIVACY_TOKEN_MAX_AGE": 86400,
    # withdrawal links asked for by email: at most this many per address and per client
    "PRIVACY_LINK_LIMITS": {"per_address": "3/hour", "per_client": "20/hour"},
    "PRIVACY_PROVISION_RETENTION": PROVISION_RETENTION,
    "PRIVACY_OPERATOR_ACCESS_PERIOD": "P1Y",
    "PRIVACY_HASH_KEY": None,  # None: derived from SECRET_KEY
    # the monthly review of operator access records (flask privacy audit access)
    "PRIVACY_ACCESS_REVIEW": {
        "working_hours": "09:00-19:00",
        "working_days": "mon-fri",
        "exports_per_day": 10,
        "subjects_per_day": 50,
    },
    "PRIVACY_PURGE_APPROVER": None,  # the scheduled purge's approver in the ledger; None: "schedule"
    # mail
    "PRIVACY_MAIL_SERVER": None,
    "PRIVACY_MAIL_PORT": 25,
    "PRIVACY_MAIL_SENDER": "privacy@localhost",
    "PRIVACY_MAIL_USE_TLS": False,
    "PRIVACY_MAIL_USE_SSL": False,
    "PRIVACY_MAIL_USERNAME": None,
    "PRIVACY_MAIL_PASSWORD": None,
    "PRIVACY_MAIL_TIMEOUT": 10.0,
    "PRIVACY_MAIL_RETRY_WINDOW": "P3D",  # how long the outbox retries a notice before giving up
}


@dataclass(frozen=True)
class LinkLimits:
    """(at most N, per S seconds) for the withdrawal-link route."""

    per_address: tuple[int, int]
    per_client: tuple[int, int]


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _rate(key: str, text: object) -> tuple[int, int]:
    """``"3/hour"`` -> ``(3, 3600)``."""
    count, _, unit = str(text).partition("/")
    if not count.strip().isdigit() or int(count) < 1 or unit.strip() not in _UNITS:
        raise ConfigurationError(key, f"{text!r} must read like '3/hour' (units: {', '.join(_UNITS)})")
    return int(count), _UNITS[unit.strip()]


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class AccessReview:
    """What the monthly review flags: access outside ``hours`` (start, end minutes of
    the day) or ``days`` (0 = Monday), more than ``exports_per_day`` exports or
    ``subjects_per_day`` members' data seen by one operator in a day."""

    hours: tuple[int, int]
    days: frozenset[int]
    exports_per_day: int
    subjects_per_day: int


def _access_review(raw: object) -> AccessReview:
    key, problems = "PRIVACY_ACCESS_REVIEW", []
    data = dict(DEFAULTS[key]) | (raw if isinstance(raw, dict) else {})
    hours = str(data["working_hours"]).split("-")
    try:
        start, end = (int(h.split(":")[0]) * 60 + int(h.split(":")[1]) for h in hours)
        if len(hours) != 2 or not 0 <= start < end <= 24 * 60:
            raise ValueError
    except (ValueError, IndexError):
        problems.append(f"working_hours {data['working_hours']!r} must read like '09:00-19:00'")
        start, end = 0, 0
    first, _, last = str(data["working_days"]).partition("-")
    if first not in _DAYS or (last or first) not in _DAYS:
        problems.append(f"working_days {data['working_days']!r} must read like 'mon-fri'")
        first = last = "mon"
    days = frozenset(range(_DAYS.index(first), _DAYS.index(last or first) + 1))
    for name in ("exports_per_day", "subjects_per_day"):
        if not isinstance(data[name], int) or isinstance(data[name], bool) or data[name] < 1:
            problems.append(f"{name} {data[name]!r} must be a whole number, 1 or more")
    if not isinstance(raw, dict):
        problems.append("must be a dict")
    else:
        problems += [f"unknown key {u!r}" for u in sorted(set(raw) - set(DEFAULTS[key]))]
    if problems:
        raise ConfigurationError(key, "; ".join(problems))
    return AccessReview((start, end), days, data["exports_per_day"], data["subjects_per_day"])


@dataclass(frozen=True)
class Settings:
    """The checked configuration of one app."""

    policy: Policy
    database_url: URL
    archive_database_url: URL
    timezone: str
    url_prefix: str
    default_language: str  # of pages without ?lang=
    external_url: str | None  # the site's public base URL; None only in debug/testing
    auto_upgrade: bool
    engine_options: dict[str, Any]
    capture_retention: str
    trusted_proxies: int  # proxy hops whose X-Forwarded-For is trusted for the client's IP
    csrf: bool
    request_deadline: Period
    token_max_age: int
    provision_retention: str
    operator_access_period: Period
    hash_key: bytes
    mail: MailSettings
    mail_retry_window: Period
    link_limits: LinkLimits
    access_review: AccessReview
    purge_approver: str


def apply_defaults(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value.copy() if isinstance(value, (dict, list)) else value)


def read_settings(app: Flask, policy: Policy | str | None = None) -> Settings:
    """Check the app's configuration; raise :class:`ConfigurationError` naming the key."""
    config = app.config
    if not config.get("SECRET_KEY"):
        raise ConfigurationError(
            "SECRET_KEY",
            "flask-casenote-privacy signs consent cookies and withdrawal links with the app's "
            "SECRET_KEY; set app.config['SECRET_KEY'] to a long random value",
        )
    source = policy if policy is not None else config["PRIVACY_POLICY"]
    if isinstance(source, Policy):
        loaded = source
    else:
        try:
            loaded = load_policy(source)
        except PolicyError as exc:
            raise ConfigurationError("PRIVACY_POLICY", str(exc)) from exc

    _check_usage(config, loaded)

    main = _database_url(app, "PRIVACY_DATABASE_URI", MAIN_SQLITE)
    archive = _database_url(app, "PRIVACY_ARCHIVE_DATABASE_URI", ARCHIVE_SQLITE)
    if same_database(main, archive):
        raise ConfigurationError(
            "PRIVACY_ARCHIVE_DATABASE_URI",
            "the archive must be a separate database (policy section 5, PIPA Art. 21(3)); "
            f"it points at the same database as PRIVACY_DATABASE_URI ({main.render_as_string()})",
        )

    tz_name = config["PRIVACY_TIMEZONE"] or loaded.timezone
    try:
        zone(tz_name)
    except PeriodError as exc:
        raise ConfigurationError("PRIVACY_TIMEZONE", str(exc)) from exc
    if tz_name != loaded.timezone:
        from dataclasses import replace

        loaded = replace(loaded, timezone=tz_name)

    prefix = config["PRIVACY_URL_PREFIX"]
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
        raise ConfigurationError(
            "PRIVACY_URL_PREFIX", f"{prefix!r} must start with '/' and not end with one, e.g. '/privacy'"
        )
    default_language = config["PRIVACY_DEFAULT_LANGUAGE"] or loaded.default_language
    if default_language not in loaded.languages:
        raise ConfigurationError(
            "PRIVACY_DEFAULT_LANGUAGE",
            f"{default_language!r} is not a language of the policy ({', '.join(loaded.languages)})",
        )
    _check_capture(config, loaded)
    options = config["PRIVACY_ENGINE_OPTIONS"]
    if not isinstance(options, dict):
        raise ConfigurationError("PRIVACY_ENGINE_OPTIONS", "must be a dict of create_engine() arguments")
    return Settings(
        policy=loaded,
        database_url=main,
        archive_database_url=archive,
        timezone=tz_name,
        url_prefix=prefix,
        default_language=default_language,
        external_url=_external_url(app),
        auto_upgrade=bool(config["PRIVACY_AUTO_UPGRADE"]),
        engine_options=options,
        capture_retention=config["PRIVACY_CAPTURE_RETENTION"],
        trusted_proxies=config["PRIVACY_TRUSTED_PROXIES"],
        csrf=bool(config["PRIVACY_CSRF"]),
        **_rights_settings(config, loaded),
    )


def _rights_settings(config: Any, policy: Policy) -> dict[str, Any]:
    """Deadlines, tokens, ledgers and mail: checked now, named in the error."""
    periods = {}
    for key in ("PRIVACY_REQUEST_DEADLINE", "PRIVACY_OPERATOR_ACCESS_PERIOD", "PRIVACY_MAIL_RETRY_WINDOW"):
        try:
            periods[key] = parse_period(config[key])
        except PeriodError as exc:
            raise ConfigurationError(key, str(exc)) from exc
    retention = config["PRIVACY_PROVISION_RETENTION"]  # checked by _check_usage
    max_age = config["PRIVACY_TOKEN_MAX_AGE"]
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 60:
        raise ConfigurationError("PRIVACY_TOKEN_MAX_AGE", f"{max_age!r} must be a number of seconds (60 or more)")
    port = config["PRIVACY_MAIL_PORT"]
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigurationError("PRIVACY_MAIL_PORT", f"{port!r} is not a TCP port")
    sender = config["PRIVACY_MAIL_SENDER"]
    if not isinstance(sender, str) or "@" not in sender:
        raise ConfigurationError("PRIVACY_MAIL_SENDER", f"{sender!r} is not an email address")
    raw_hash_key = config["PRIVACY_HASH_KEY"]
    secret = config["SECRET_KEY"]
    hash_key = (
        raw_hash_key.encode()
        if isinstance(raw_hash_key, str)
        else raw_hash_key
        if isinstance(raw_hash_key, bytes)
        else hashlib.sha256(
            b"flask-casenote-privacy.subject-ref\x00" + (secret.encode() if isinstance(secret, str) else bytes(secret))
        ).digest()
    )
    return {
        "request_deadline": periods["PRIVACY_REQUEST_DEADLINE"],
        "operator_access_period": periods["PRIVACY_OPERATOR_ACCESS_PERIOD"],
        "provision_retention": retention,
        "token_max_age": max_age,
        "hash_key": hash_key,
        "mail_retry_window": periods["PRIVACY_MAIL_RETRY_WINDOW"],
        "link_limits": _link_limits(config["PRIVACY_LINK_LIMITS"]),
        "access_review": _access_review(config["PRIVACY_ACCESS_REVIEW"]),
        "purge_approver": str(config["PRIVACY_PURGE_APPROVER"] or "schedule")[:191],
        "mail": MailSettings(
            server=config["PRIVACY_MAIL_SERVER"],
            port=port,
            sender=sender,
            use_tls=bool(config["PRIVACY_MAIL_USE_TLS"]),
            use_ssl=bool(config["PRIVACY_MAIL_USE_SSL"]),
            username=config["PRIVACY_MAIL_USERNAME"],
            password=config["PRIVACY_MAIL_PASSWORD"],
            timeout=float(config["PRIVACY_MAIL_TIMEOUT"]),
        ),
    }


def _link_limits(raw: object) -> LinkLimits:
    key = "PRIVACY_LINK_LIMITS"
    if not isinstance(raw, dict) or set(raw) != {"per_address", "per_client"}:
        raise ConfigurationError(key, 'must be {"per_address": "3/hour", "per_client": "20/hour"}')
    return LinkLimits(_rate(key, raw["per_address"]), _rate(key, raw["per_client"]))


def _check_usage(config: Any, policy: Policy) -> None:
    """What the extension asks of the policy (``usage_problems``, which ``flask
    privacy policy check`` reports too): every problem in one error."""
    found = usage_problems(
        policy,
        capture_retention=config["PRIVACY_CAPTURE_RETENTION"],
        provision_retention=config["PRIVACY_PROVISION_RETENTION"],
    )
    if found:
        keys = ", ".join(dict.fromkeys(key for key, _ in found))
        where = policy.source or "the policy"
        raise ConfigurationError(keys, f"{where}: " + "; ".join(f"{key}: {problem}" for key, problem in found))


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


def _check_capture(config: Any, policy: Policy) -> None:
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


def _external_url(app: Flask) -> str | None:
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


def _database_url(app: Flask, key: str, default_file: str) -> URL:
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
