"""The ``Privacy`` Flask extension: configuration and wiring only.

``init_app`` reads the configuration, builds the app's :class:`~.services.Services`
and hooks capture, the blueprint and the CLI into the app. The methods below are
a facade over the service functions; nothing in the package imports this module.
"""

from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from flask import Flask, current_app, has_app_context

from .capture.decision import FIELD_ITEMS, RequestPrivacy, decide_request
from .capture.hooks import Capture
from .capture.writer import AccessLogWriter
from .cli import privacy_cli
from .config import apply_defaults, read_settings
from .consent import ConsentCookie
from .mail import Mailer
from .policy.model import Policy
from .retention.purge import purge
from .retention.report import PurgeReport
from .rights.facade import RightsFacade
from .rights.guardians import ChildrenFacade
from .services import Clock, Loaders, Services, check_source, system_clock
from .signing import WithdrawTokens, signing_keys
from .sources import DataSource, ModelSource, default_source_name, source_label
from .storage import migrate
from .storage.engines import Databases
from .web import create_blueprint

__all__ = ["Privacy"]

F = TypeVar("F", bound=Callable[..., Any])


class _AppState:
    """What the extension built for one app: its services, writer and capture hooks."""

    def __init__(self, services: Services, writer: AccessLogWriter, capture: Capture | None) -> None:
        self.services = services
        self.writer = writer
        self.capture = capture

    def after_fork_in_child(self) -> None:
        # Connections are the parent's; the child opens its own (SQLAlchemy's advice).
        self.services.databases.main.dispose(close=False)
        self.services.databases.archive.dispose(close=False)
        self.writer.after_fork_in_child()
        if self.capture is not None:
            self.capture.after_fork_in_child()

    def close(self) -> None:
        self.writer.close(timeout=30)
        self.services.mailer.flush()
        self.services.databases.dispose()


def _build(app: Flask, settings: Any, clock: Clock, sources: dict[str, DataSource], loaders: Loaders) -> _AppState:
    config = app.config
    databases = Databases(settings.database_url, settings.archive_database_url, settings.engine_options)
    spool = config["PRIVACY_SPOOL_DIR"] or os.path.join(app.instance_path, "privacy-spool")
    writer = AccessLogWriter(
        lambda: databases.main,
        spool,
        batch_size=config["PRIVACY_WRITER_BATCH_SIZE"],
        queue_size=config["PRIVACY_WRITER_QUEUE_SIZE"],
        synchronous=bool(config["PRIVACY_CAPTURE_SYNC"]),
        retry_seconds=float(config["PRIVACY_WRITER_RETRY_SECONDS"]),
        linger_seconds=float(config["PRIVACY_WRITER_LINGER_SECONDS"]),
        inline=config["PRIVACY_WRITER_INLINE"],
    )
    keys = signing_keys(config)
    services = Services(
        settings,
        databases=databases,
        clock=clock,
        sources=sources,
        loaders=loaders,
        mailer=Mailer(settings.mail),
        consent_cookie=ConsentCookie(
            keys, config["PRIVACY_CONSENT_COOKIE_NAME"], config["PRIVACY_CONSENT_COOKIE_MAX_AGE"], clock
        ),
        withdraw_tokens=WithdrawTokens(keys, clock, settings.token_max_age),
        flush=writer.flush,
        replay_spool=writer.replay_spool,
        field_items={**FIELD_ITEMS, **config["PRIVACY_LOG_FIELD_ITEMS"]},
    )
    capture = Capture(services, writer, app) if config["PRIVACY_CAPTURE"] else None
    return _AppState(services, writer, capture)


def _at_fork(states: WeakKeyDictionary[Flask, _AppState]) -> None:
    for state in list(states.values()):
        state.after_fork_in_child()


def _at_exit(states: WeakKeyDictionary[Flask, _AppState]) -> None:
    for state in list(states.values()):
        state.writer.flush(timeout=30)


class Privacy(RightsFacade, ChildrenFacade):
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
        self._loaders = Loaders()
        self._sources: dict[str, DataSource] = {}
        self._model_options: dict[str, dict[str, Any]] = {}  # how each model source was registered
        states = weakref.ref(self._states)
        # A forking server (gunicorn) copies this process: each child gets its own
        # connections and writer thread; every process flushes its events at exit.
        os.register_at_fork(after_in_child=lambda: _at_fork(s) if (s := states()) is not None else None)
        atexit.register(lambda: _at_exit(s) if (s := states()) is not None else None)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Check the configuration, then register capture, the blueprint and the CLI."""
        if "privacy" in app.extensions:
            raise RuntimeError(
                "flask-casenote-privacy is already initialised on this app; call "
                "Privacy(app) or privacy.init_app(app) once per app"
            )
        apply_defaults(app)
        settings = read_settings(app, self._policy_arg)
        for name, source in self._sources.items():
            check_source(settings.policy, name, source)
        state = _build(app, settings, self.clock, self._sources, self._loaders)
        self._states[app] = state
        app.extensions["privacy"] = self
        if state.capture is not None:
            app.before_request(state.capture.before_request)
            app.after_request(state.capture.after_request)
        app.register_blueprint(create_blueprint(state.services), url_prefix=settings.url_prefix)
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
    def services(self) -> Services:
        """The current app's services: settings, databases, clock, sources, mailer."""
        return self._state().services

    @property
    def policy(self) -> Policy:
        """The policy in force for the current app."""
        return self._state().services.policy

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event captured so far is durable (database or spool).

        Returns False if ``timeout`` seconds passed first. Tests and benchmarks
        call it; an app never has to (events are flushed at exit too).
        """
        return self._state().writer.flush(timeout)

    def close(self) -> None:
        """Flush and stop the current app's writer and mailer, and close its databases.

        For tests and for hosts that build many apps in one process; a closed
        app's extension is not used again.
        """
        self._state().close()

    # -- time ------------------------------------------------------------------
    def now(self) -> datetime:
        """The current instant from the injected clock, aware and in UTC."""
        return self.services.now()

    def expires_at(self, retention_class: str, start: datetime) -> datetime | None:
        """When a record of ``retention_class`` made at ``start`` expires, in the
        policy's time zone; ``None`` for a class kept until withdrawal."""
        return self.services.expires_at(retention_class, start)

    # -- loaders ---------------------------------------------------------------
    def subject_loader(self, func: F) -> F:
        """Register the function that says who the data subject of a request is."""
        self._loaders.subject = func
        return func

    def officer_loader(self, func: F) -> F:
        """Register the function that says whether a request may use the officer pages.

        Return the officer's name (a string) to have it recorded in operator access
        records and on the requests the officer decides; ``True`` records the subject id.
        """
        self._loaders.officer = func
        return func

    def use_flask_login(self) -> None:
        """Take the data subject from Flask-Login (``current_user.get_id()``) and sign a
        member out once they have left (see ``integrations/flask_login.py``). Needs
        Flask-Login installed; safe to call again in an app factory."""
        from .integrations import flask_login

        flask_login.init(self)

    def current_subject(self) -> str | None:
        """The data subject of the current request (``None`` when anonymous); the
        host's loader is asked once per request and its answer kept for the request."""
        return self.services.current_subject()

    def current_decision(self) -> RequestPrivacy:
        """What the current request's consent allows: granted purposes, allowed items,
        Sec-GPC, and the retention tag of what it logs (e.g. for a "my privacy" page)."""
        return decide_request(self.services)

    # -- host data sources --------------------------------------------------------
    def register_model(
        self,
        model: Any,
        *,
        subject: str,
        items: dict[str, str] | None = None,
        retention: str | None = None,
        occurred_at: str | None = None,
        session_factory: Callable[[], Any] | None = None,
        name: str | None = None,
        export: Iterable[str] | None = None,
        orm_delete: bool = False,
    ) -> ModelSource:
        """Tell the extension where a SQLAlchemy model, or a Core table, keeps personal data.

        ``items`` maps policy item ids to columns (``{"email": "email"}``);
        ``retention`` names the class of records the law makes you keep
        (they are archived on withdrawal, ``occurred_at`` starts their period);
        without it the rows are erased. Models are erased in the reverse order
        of registration, so register parents (``User``) before children.
        An access request shows, and the archive keeps, only the columns named
        here: ``subject``, the items', ``occurred_at`` and ``export`` (more columns
        worth showing, e.g. ``["amount"]``); never a password hash or a token.

        >>> privacy.register_model(User, subject="id", items={"name": "name", "email": "email"})
        >>> privacy.register_model(
        ...     Payment, subject="user_id", retention="payment_record", occurred_at="paid_at", export=["amount"]
        ... )

        ``model`` may also be a ``Table`` (``db.Table``, e.g. an association table
        ``user_roles``), so that a withdrawal leaves no orphan rows in it: it is
        registered under its table name and read and erased with Core statements
        in the same session.

        >>> privacy.register_model(user_roles, subject="user_id", export=["role_id"])

        A model's rows are erased by one bulk ``DELETE``, which is fast but runs no
        ORM events or cascades: a ``before_delete``/``after_delete`` listener on the
        model (a search-index hook) sees nothing. ``orm_delete=True`` loads the
        subject's rows and deletes each with ``session.delete(row)`` instead, so the
        mapper events and cascades run, at the cost of one statement per row (not
        for a table, which has no mapper).

        >>> privacy.register_model(Post, subject="author_id", items={"post": "body"}, orm_delete=True)

        The sources belong to the ``Privacy`` object, so every app it is initialised on
        has them. An app factory that registers the same models for each app it builds
        (every test of a factory app does) may: registering the same model under the
        same name with the same options again changes nothing. A different source
        under a name already taken is an error.
        """
        name = name or default_source_name(model)
        options = {
            "model": model,
            "subject": subject,
            "items": dict(items or {}),
            "retention": retention,
            "occurred_at": occurred_at,
            "session_factory": session_factory,
            "export": tuple(export or ()),
            "orm_delete": orm_delete,
        }
        if name in self._sources:
            again = self._registered_again(name, options)
            assert isinstance(again, ModelSource)  # only a model source has options to match
            return again
        source = ModelSource(
            model,
            subject=subject,
            items=items,
            retention=retention,
            occurred_at=occurred_at,
            session_factory=session_factory,
            export=export,
            orm_delete=orm_delete,
        )
        self.register_source(name, source)
        self._model_options[name] = options
        return source

    def _registered_again(self, name: str, options: dict[str, Any]) -> DataSource:
        """The source already registered as ``name`` if ``options`` are the ones it was
        registered with; else a ValueError naming what differs."""
        known = self._model_options.get(name)
        if known == options:
            return self._sources[name]
        if known is None:
            differs = "it was registered with register_source, not as a model"
        else:
            differs = "differs in " + ", ".join(key for key in options if options[key] != known[key])
        hint = (
            "; a session_factory made anew for each app cannot be told apart from another one: pass one "
            "that opens the current app's session (it is called inside the app context)"
            if known is not None and options["session_factory"] != known["session_factory"]
            else ""
        )
        raise ValueError(
            f"a data source named {name!r} is already registered, and {source_label(options['model'])} {differs}; "
            f"give this one another name= (registering the same model with the same options again is a no-op){hint}"
        )

    def register_source(self, name: str, source: DataSource) -> DataSource:
        """Register any object following the :class:`~.sources.DataSource` protocol.

        Registering the same object (or an equal one) under the same name again
        changes nothing, as for an app factory; another source under a name already
        taken is a ValueError."""
        existing = self._sources.get(name)
        if existing is not None:
            if existing is source or existing == source:
                return existing
            raise ValueError(
                f"a data source named {name!r} is already registered, with another source "
                f"({type(existing).__name__}); give this one another name, or register the same object again"
            )
        for state in self._states.values():
            check_source(state.services.policy, name, source)
        self._sources[name] = source
        return source

    def purge(
        self,
        *,
        now: datetime | None = None,
        dry_run: bool = False,
        classes: Iterable[str] | None = None,
        executor: str = "app",
        approved_by: str | None = None,
    ) -> PurgeReport:
        """Destroy everything past its retention at ``now`` (see ``flask privacy purge``)."""
        return purge(
            self.services, now=now, dry_run=dry_run, classes=classes, executor=executor, approved_by=approved_by
        )

    # -- schema ----------------------------------------------------------------
    def upgrade(self) -> list[migrate.UpgradeResult]:
        """Create or upgrade both databases and record the policy text in force."""
        services = self.services
        return migrate.upgrade_all(services.databases, services.policy, services.now())
