"""The ``Privacy`` Flask extension: configuration, wiring, and per-app state."""

from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from flask import Flask, current_app, has_app_context

from .capture.decision import FIELD_ITEMS
from .capture.hooks import Capture
from .capture.writer import AccessLogWriter
from .config import Settings, apply_defaults, read_settings
from .consent import ConsentCookie
from .mail import Mailer
from .periods import Period, add_period
from .policy.model import Policy
from .rights.audit import record_provision
from .signing import WithdrawTokens
from .sources import DataSource, ModelSource
from .storage import migrate
from .storage.engines import Databases
from .storage.tables import record_policy_version

__all__ = ["Privacy"]

F = TypeVar("F", bound=Callable[..., Any])
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class _AppState:
    """What the extension knows about one app."""

    def __init__(self, privacy: Privacy, app: Flask, settings: Settings) -> None:
        config = app.config
        policy = settings.policy
        self.settings = settings
        self.databases = Databases(settings.database_url, settings.archive_database_url, settings.engine_options)
        self.no_consent_purposes = frozenset(p.id for p in policy.purposes if not p.needs_consent)
        self.always_allowed_items = privacy_items(policy, self.no_consent_purposes)
        self.field_items = {**FIELD_ITEMS, **config["PRIVACY_LOG_FIELD_ITEMS"]}
        self.consent_cookie = ConsentCookie(
            signing_keys(config),
            config["PRIVACY_CONSENT_COOKIE_NAME"],
            config["PRIVACY_CONSENT_COOKIE_MAX_AGE"],
            privacy.now,
        )
        spool = config["PRIVACY_SPOOL_DIR"] or os.path.join(app.instance_path, "privacy-spool")
        self.writer = AccessLogWriter(
            lambda: self.databases.main,
            spool,
            batch_size=config["PRIVACY_WRITER_BATCH_SIZE"],
            queue_size=config["PRIVACY_WRITER_QUEUE_SIZE"],
            synchronous=bool(config["PRIVACY_CAPTURE_SYNC"]),
            retry_seconds=float(config["PRIVACY_WRITER_RETRY_SECONDS"]),
        )
        self.capture = Capture(privacy, app, self) if config["PRIVACY_CAPTURE"] else None
        self.mailer = Mailer(settings.mail)
        self.withdraw_tokens = WithdrawTokens(signing_keys(config), privacy.now, settings.token_max_age)

    def after_fork_in_child(self) -> None:
        # Connections are the parent's; the child opens its own (SQLAlchemy's advice).
        self.databases.main.dispose(close=False)
        self.databases.archive.dispose(close=False)
        self.writer.after_fork_in_child()

    def close(self) -> None:
        self.writer.flush(timeout=30)
        self.mailer.flush()
        self.databases.dispose()


def signing_keys(config: Any) -> list[bytes]:
    """Keys for itsdangerous, oldest first: Flask's ``SECRET_KEY_FALLBACKS`` still
    verify consent cookies and links after a key rotation; ``SECRET_KEY`` signs."""
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return [key.encode() if isinstance(key, str) else bytes(key) for key in keys]


def check_source(policy: Policy, name: str, source: DataSource) -> None:
    """Unknown item or retention ids fail at registration, with every problem named."""
    problems = []
    items = {i.id for i in policy.items}
    for item in source.items:
        if item not in items:
            problems.append(f"unknown item {item!r} (the policy declares: {', '.join(sorted(items))})")
    if source.retention is not None:
        classes = {r.id: r for r in policy.retention}
        if source.retention not in classes:
            problems.append(f"unknown retention class {source.retention!r} (the policy has: {', '.join(classes)})")
        elif classes[source.retention].period is None:
            problems.append(f"retention class {source.retention!r} has no period; archived records need one")
    if problems:
        raise ValueError(f"data source {name!r}: " + "; ".join(problems))


def privacy_items(policy: Policy, purposes: frozenset[str]) -> frozenset[str]:
    return frozenset(item for p in policy.purposes if p.id in purposes for item in p.items)


def _at_fork(states: WeakKeyDictionary[Flask, _AppState]) -> None:
    for state in list(states.values()):
        state.after_fork_in_child()


def _at_exit(states: WeakKeyDictionary[Flask, _AppState]) -> None:
    for state in list(states.values()):
        state.writer.flush(timeout=30)


class Privacy:
    """Make the app's privacy policy executable.

    >>> app = Flask(__name__)
    >>> app.config["SECRET_KEY"] = "change me"
    >>> privacy = Privacy(app)            # or Privacy(), then privacy.init_app(app)
    >>> app.extensions["privacy"] is privacy
    True

    ``policy`` (a preset name, a path or a :class:`Policy`) beats
    ``PRIVACY_POLICY``; ``clock`` returns the current time as an aware
    datetime, so retention can be tested across years without sleeping.
    """

    def __init__(
        self, app: Flask | None = None, *, policy: Policy | str | None = None, clock: Clock | None = None
    ) -> None:
        self._policy_arg = policy
        self.clock: Clock = clock or system_clock
        self._states: WeakKeyDictionary[Flask, _AppState] = WeakKeyDictionary()
        self._subject_loader: Callable[[], str | None] | None = None
        self._officer_loader: Callable[[], bool] | None = None
        self._sources: dict[str, DataSource] = {}
        states = weakref.ref(self._states)
        # A forking server (gunicorn) copies this process: each child gets its own
        # connections and writer thread; every process flushes its events at exit.
        os.register_at_fork(after_in_child=lambda: _at_fork(s) if (s := states()) is not None else None)
        atexit.register(lambda: _at_exit(s) if (s := states()) is not None else None)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Check the configuration, then register the blueprint and the CLI."""
        if "privacy" in app.extensions:
            raise RuntimeError(
                "flask-casenote-privacy is already initialised on this app; call "
                "Privacy(app) or privacy.init_app(app) once per app"
            )
        apply_defaults(app)
        settings = read_settings(app, self._policy_arg)
        for name, source in self._sources.items():
            check_source(settings.policy, name, source)
        state = _AppState(self, app, settings)
        self._states[app] = state
        app.extensions["privacy"] = self
        if state.capture is not None:
            app.before_request(state.capture.before_request)
            app.after_request(state.capture.after_request)

        from .cli import privacy_cli
        from .web.blueprint import create_blueprint

        app.register_blueprint(create_blueprint(self), url_prefix=settings.url_prefix)
        app.cli.add_command(privacy_cli)
        if settings.auto_upgrade:
            with app.app_context():
                self.upgrade()

    # -- per-app state ---------------------------------------------------------
    def _state(self) -> _AppState:
        if has_app_context():
            try:
                return self._states[current_app._get_current_object()]  # type: ignore[attr-defined]
            except KeyError:
                raise RuntimeError("this app has not been initialised with privacy.init_app(app)") from None
        if len(self._states) == 1:
            return next(iter(self._states.values()))
        raise RuntimeError("working outside of an application context; use `with app.app_context():`")

    @property
    def policy(self) -> Policy:
        """The policy in force for the current app."""
        return self._state().settings.policy

    @property
    def settings(self) -> Settings:
        return self._state().settings

    @property
    def databases(self) -> Databases:
        return self._state().databases

    # -- consent and capture -----------------------------------------------------
    @property
    def writer(self) -> AccessLogWriter:
        return self._state().writer

    @property
    def consent_cookie(self) -> ConsentCookie:
        return self._state().consent_cookie

    @property
    def no_consent_purposes(self) -> frozenset[str]:
        """Purposes whose basis needs no consent: always active."""
        return self._state().no_consent_purposes

    @property
    def always_allowed_items(self) -> frozenset[str]:
        """Items of the purposes that need no consent (what is captured for everyone)."""
        return self._state().always_allowed_items

    @property
    def field_items(self) -> dict[str, str]:
        """Log/event field name -> policy item id (``PRIVACY_LOG_FIELD_ITEMS`` extends it)."""
        return self._state().field_items

    def items_of(self, purposes: frozenset[str]) -> frozenset[str]:
        return privacy_items(self.policy, purposes)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event captured so far is durable (database or spool).

        Returns False if ``timeout`` seconds passed first. Tests and benchmarks
        call it; an app never has to (events are flushed at exit too).
        """
        return self._state().writer.flush(timeout)

    # -- time ------------------------------------------------------------------
    def now(self) -> datetime:
        """The current instant from the injected clock, aware and in UTC."""
        value = self.clock()
        if value.tzinfo is None:
            raise RuntimeError("the privacy clock must return an aware datetime (tzinfo set)")
        return value.astimezone(timezone.utc)

    def expires_at(self, retention_class: str, start: datetime) -> datetime | None:
        """When a record of ``retention_class`` made at ``start`` expires, in the
        policy's time zone; ``None`` for a class kept until withdrawal."""
        period = self.policy.retention_class(retention_class).period
        return None if period is None else add_period(start, period, self.policy.tz)

    # -- loaders ---------------------------------------------------------------
    def subject_loader(self, func: F) -> F:
        """Register the function that says who the data subject of a request is."""
        self._subject_loader = func
        return func

    def officer_loader(self, func: F) -> F:
        """Register the function that says whether a request may use the officer pages."""
        self._officer_loader = func
        return func

    def current_subject(self) -> str | None:
        if self._subject_loader is None:
            return None
        subject = self._subject_loader()
        return None if subject is None else str(subject)

    def is_officer(self) -> bool:
        return bool(self._officer_loader and self._officer_loader())

    # -- host data sources --------------------------------------------------------
    def register_model(
        self,
        model: type[Any],
        *,
        subject: str,
        items: dict[str, str] | None = None,
        retention: str | None = None,
        occurred_at: str | None = None,
        session_factory: Callable[[], Any] | None = None,
        name: str | None = None,
    ) -> ModelSource:
        """Tell the extension where a SQLAlchemy model keeps personal data.

        ``items`` maps policy item ids to columns (``{"email": "email"}``);
        ``retention`` names the class of records the law makes you keep
        (they are archived on withdrawal, ``occurred_at`` starts their period);
        without it the rows are erased. Models are erased in the reverse order
        of registration, so register parents (``User``) before children.

        >>> privacy.register_model(User, subject="id", items={"name": "name", "email": "email"})
        >>> privacy.register_model(Payment, subject="user_id", retention="payment_record", occurred_at="paid_at")
        """
        source = ModelSource(
            model,
            subject=subject,
            items=items,
            retention=retention,
            occurred_at=occurred_at,
            session_factory=session_factory,
        )
        return self.register_source(name or model.__tablename__, source)  # type: ignore[return-value]

    def register_source(self, name: str, source: DataSource) -> DataSource:
        """Register any object following the :class:`~.sources.DataSource` protocol."""
        if name in self._sources:
            raise ValueError(f"a data source named {name!r} is already registered")
        for state in self._states.values():
            check_source(state.settings.policy, name, source)
        self._sources[name] = source
        return source

    @property
    def sources(self) -> dict[str, DataSource]:
        return dict(self._sources)

    def subject_email(self, subject: str) -> str | None:
        """The subject's address from the first source holding the ``email`` item."""
        for source in self._sources.values():
            field = source.items.get("email")
            if field is None:
                continue
            for record in source.export(subject):
                value = record.data.get(field)
                if isinstance(value, str) and "@" in value:
                    return value
        return None

    def find_subject(self, item: str, value: str) -> str | None:
        for source in self._sources.values():
            found = source.find(item, value)
            if found:
                return found[0]
        return None

    def record_provision(self, subject: str, *, recipient: str, items: list[str]) -> dict[str, Any]:
        """Record a handover of personal data to a recipient of the policy (section 3)."""
        return record_provision(self, str(subject), recipient=recipient, items=items)

    def export(self, subject: str) -> dict[str, Any]:
        """Everything held about ``subject`` (the 열람 of PIPA Art. 35), as JSON-ready data."""
        from .rights.export import export_subject

        return export_subject(self, str(subject))

    @property
    def withdraw_tokens(self) -> WithdrawTokens:
        return self._state().withdraw_tokens

    def current_operator(self) -> str:
        """Who is using the officer pages, for operator access records: the
        officer loader's return value when it is a string, else the subject id."""
        value = self._officer_loader() if self._officer_loader else None
        if isinstance(value, str) and value:
            return value
        return self.current_subject() or "officer"

    @property
    def mailer(self) -> Mailer:
        return self._state().mailer

    @property
    def hash_key(self) -> bytes:
        return self._state().settings.hash_key

    @property
    def request_deadline(self) -> Period:
        return self._state().settings.request_deadline

    # -- schema ----------------------------------------------------------------
    def upgrade(self) -> list[migrate.UpgradeResult]:
        """Create or upgrade both databases and record the policy text in force."""
        dbs = self.databases
        results = [
            migrate.upgrade_database(dbs.main, "main"),
            migrate.upgrade_database(dbs.archive, "archive"),
        ]
        with dbs.main.begin() as conn:
            record_policy_version(conn, self.policy, self.now())
        return results
