"""The ``PRIVACY_*`` configuration keys, their defaults, and their checks.

Every key is documented in ``docs/configuration.md``; :func:`apply_defaults`
sets each with ``setdefault`` so the host's values always win.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.engine import URL

from ..errors import ConfigurationError
from ..mail import MailSettings
from ..periods import Period, PeriodError, parse_period, zone
from ..policy.loader import PolicyError, load_policy
from ..policy.model import Policy
from ..policy.usage import CAPTURE_RETENTION, PROVISION_RETENTION, usage_problems
from .capture import check_capture
from .rights import ACCESS_REVIEW_DEFAULTS, AccessReview, LinkLimits, access_review, link_limits
from .urls import database_url, external_url, same_database

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
    # the monthly review of operator access records (flask privacy audit access; config/rights.py)
    "PRIVACY_ACCESS_REVIEW": ACCESS_REVIEW_DEFAULTS,
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

    main = database_url(app, "PRIVACY_DATABASE_URI", MAIN_SQLITE)
    archive = database_url(app, "PRIVACY_ARCHIVE_DATABASE_URI", ARCHIVE_SQLITE)
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
    check_capture(config, loaded)
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
        external_url=external_url(app),
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
        "link_limits": link_limits(config["PRIVACY_LINK_LIMITS"]),
        "access_review": access_review(config["PRIVACY_ACCESS_REVIEW"]),
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
