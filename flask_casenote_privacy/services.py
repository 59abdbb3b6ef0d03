"""What the domain services of one app work with: its settings and policy, its two
databases, the clock, the host's data sources and loaders, the mailer and the signers.

``Privacy.init_app`` builds one :class:`Services` per app; capture, retention and
rights functions receive it (never the extension, never ``flask.request``), and the
web views and CLI commands hand it to them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError

from .addresses import same_address
from .config import Settings
from .consent import ConsentCookie
from .errors import ConfigurationError, UnknownPolicyId
from .mail import Mailer
from .periods import Period, add_period
from .policy.diff import Lapse
from .policy.model import Policy
from .signing import WithdrawTokens
from .sources import DataSource, ModelSource, period_classes
from .storage import incarnations, policy_history
from .storage.engines import Databases

__all__ = [
    "Clock",
    "Loaders",
    "Services",
    "check_source",
    "check_source_period",
    "current_services",
    "items_of",
    "system_clock",
]

Clock = Callable[[], datetime]
log = logging.getLogger("flask_casenote_privacy.services")

# Where the current request's subject and identity are kept (on ``g``).
_SUBJECT_KEY = "_privacy_subject"
_IDENTITY_KEY = "_privacy_identity"


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Loaders:
    """The host's callbacks (``@privacy.subject_loader``, ``@privacy.officer_loader``)."""

    subject: Callable[[], Any] | None = None
    officer: Callable[[], Any] | None = None


def items_of(policy: Policy, purposes: frozenset[str]) -> frozenset[str]:
    """The items the given purposes use."""
    return frozenset(item for p in policy.purposes if p.id in purposes for item in p.items)


def check_source(policy: Policy, name: str, source: DataSource) -> None:
    """Unknown item or retention ids fail at registration, with every problem named."""
    problems = []
    items = {i.id for i in policy.items}
    for item in source.items:
        if item not in items:
            problems.append(f"unknown item {item!r} (the policy declares: {', '.join(sorted(items))})")
    if source.retention is not None:
        cls = policy.find_retention_class(source.retention)
        if cls is None:
            problems.append(
                f"unknown retention class {source.retention!r} "
                f"(the policy has: {', '.join(r.id for r in policy.retention)})"
            )
        elif cls.period is None:
            problems.append(f"retention class {source.retention!r} has no period; archived records need one")
    if problems:
        raise ValueError(f"data source {name!r}: " + "; ".join(problems))
    check_source_period(policy, name, source)


def check_source_period(policy: Policy, name: str, source: DataSource) -> None:
    """A source whose items the policy keeps for a period must be destroyable by that
    period (개인정보 보호법 제21조 제1항): a model needs ``occurred_at=``, any other
    source a ``purge_expired`` method (see ``retention/source_purge.py``)."""
    classes = period_classes(policy, source)
    if not classes:
        return
    described = ", ".join(f"{c.id!r} ({c.period})" for c in classes)
    if len(classes) > 1:
        raise ConfigurationError(
            f"data source {name!r}",
            f"its items fall under several retention classes with a period ({described}); "
            "register one source per class, so each row has one period",
        )
    cls = classes[0]
    others = sorted(set(source.items) - set(cls.items))
    if others and getattr(source, "retention", None) != cls.id:
        # The purge destroys whole rows: a row that also holds items kept on other terms
        # (e.g. name and email, kept until the member leaves) must not go with them.
        raise ConfigurationError(
            f"data source {name!r}",
            f"its rows hold items kept for retention class {described} and items kept on other terms "
            f"({', '.join(others)}); the purge destroys a row once {cls.id!r}'s period has passed, which "
            f"would destroy those too: register the {cls.id!r} items as a source of their own (their own "
            f"table), or register this one with retention={cls.id!r} if each row is a {cls.id!r} record",
        )
    if isinstance(source, ModelSource):
        if source.occurred_at is None:
            raise ConfigurationError(
                f"data source {name!r}",
                f"its items ({', '.join(sorted(source.items))}) are kept for retention class {described}, "
                "counted from each row's own date, but it was registered without occurred_at=: "
                'name the column holding that date (e.g. occurred_at="created_at")',
            )
    elif not callable(getattr(source, "purge_expired", None)):
        raise ConfigurationError(
            f"data source {name!r}",
            f"its items are kept for retention class {described}, but the source has no "
            "purge_expired(now, period, tz, dry_run=...) method to destroy its records past that period",
        )


class Services:
    """The context of one app's privacy services (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        databases: Databases,
        clock: Clock,
        sources: Mapping[str, DataSource],
        loaders: Loaders,
        mailer: Mailer,
        consent_cookie: ConsentCookie,
        withdraw_tokens: WithdrawTokens,
        flush: Callable[[float | None], bool],
        replay_spool: Callable[[], int],
        field_items: Mapping[str, str],
    ) -> None:
        self.settings = settings
        self.databases = databases
        self.clock = clock
        self.sources = sources  # a live view: registration order is erasure order, reversed
        self.loaders = loaders
        self.mailer = mailer
        self.consent_cookie = consent_cookie
        self.withdraw_tokens = withdraw_tokens
        self._flush = flush
        self._replay_spool = replay_spool
        self.field_items = field_items
        policy = settings.policy
        self._lapses: tuple[Lapse, ...] | None = None
        self._lapses_checked = -1.0
        self._provisional_lapses: tuple[Lapse, ...] = ()
        self._lapses_known = False  # read at least once (even provisionally)
        self.no_consent_purposes = frozenset(p.id for p in policy.purposes if not p.needs_consent)
        self.always_allowed_items = items_of(policy, self.no_consent_purposes)

    # -- the policy and time -----------------------------------------------------------
    @property
    def policy(self) -> Policy:
        return self.settings.policy

    @property
    def hash_key(self) -> bytes:
        return self.settings.hash_key

    @property
    def request_deadline(self) -> Period:
        return self.settings.request_deadline

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

    def items_of(self, purposes: frozenset[str]) -> frozenset[str]:
        return items_of(self.policy, purposes)

    def consent_lapses(self) -> tuple[Lapse, ...]:
        """The consents the recorded policy changes made lapse (``storage/policy_history.py``).

        Read once the policy in force is recorded, then kept (a process's policy does
        not change); before that, read again at most once a minute.

        Fails closed when the policy history cannot be read: the lapses last read
        stay in force (never none); before any were read, every consent given under
        another version of the policy than the one in force is taken as lapsed
        (:meth:`unknown_lapses`), so that a change the database would have shown to
        void a consent (PIPA §15②: a changed purpose is agreed again) cannot be
        counted while it cannot be checked."""
        if self._lapses is not None:
            return self._lapses
        if self._lapses_checked >= 0 and time.monotonic() - self._lapses_checked < 60:
            return self._provisional_lapses
        self._lapses_checked = time.monotonic()
        try:
            lapses, complete = policy_history.consent_lapses(
                policy_history.list_versions(self.databases.main), self.policy.digest
            )
        except SQLAlchemyError:
            if self._lapses_known:
                log.warning("privacy policy versions unreadable; the consent lapses last read stay in force")
            else:
                log.warning("privacy policy versions unreadable; consents given under another version do not count")
                self._provisional_lapses = self.unknown_lapses()
            return self._provisional_lapses
        if complete:
            self._lapses = lapses
        self._provisional_lapses = lapses
        self._lapses_known = True
        return lapses

    def unknown_lapses(self) -> tuple[Lapse, ...]:
        """Lapses for when none could be read yet: for each consent-based purpose, a
        consent given under a policy version other than the one in force lapses."""
        always = datetime.min.replace(tzinfo=timezone.utc)
        current = frozenset({self.policy.version})
        return tuple(Lapse(p.id, always, always, current) for p in self.policy.consent_purposes)

    def external_url(self, path: str) -> str:
        """An absolute link to ``path`` under the blueprint, for mail: built from
        ``PRIVACY_EXTERNAL_URL`` (or ``SERVER_NAME``), never from the request's
        ``Host`` header, except in debug/testing without either (see config)."""
        base = self.settings.external_url
        if base is None:
            base = request.host_url.rstrip("/") if has_request_context() else "http://localhost"
        return f"{base}{self.settings.url_prefix}{path}"

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every captured event so far is durable (database or spool)."""
        return self._flush(timeout)

    def replay_spool(self) -> int:
        """Move the capture spool's events into the main database now; how many moved."""
        return self._replay_spool()

    # -- who is asking -------------------------------------------------------------------
    # The host's loader is asked once per request, at the first use, and its answer kept
    # for the rest of the request (on ``g``, tagged with the request object: a test may
    # run several requests in one app context). After a withdrawal the host's user
    # object may be gone (Flask-Login's ``current_user`` detached from its deleted row),
    # so capture's after_request must never ask the loader again.
    def current_subject(self) -> str | None:
        """The data subject (the host's id) of the current request, from the host's
        subject loader: asked at the first use in a request, then kept for it."""
        if not has_request_context():
            return self._load_subject()
        req = request._get_current_object()  # type: ignore[attr-defined]
        kept = g.get(_SUBJECT_KEY)
        if kept is not None and kept[0] is req:
            return kept[1]  # type: ignore[no-any-return]
        subject = self._load_subject()
        setattr(g, _SUBJECT_KEY, (req, subject))
        return subject

    def pin_subject(self, subject: str | None) -> None:
        """Take ``subject`` as the current request's subject without asking the loader
        (capture, when the loader failed: the request is then anonymous)."""
        setattr(g, _SUBJECT_KEY, (request._get_current_object(), subject))  # type: ignore[attr-defined]
        g.pop(_IDENTITY_KEY, None)

    def _load_subject(self) -> str | None:
        loader = self.loaders.subject
        if loader is None:
            return None
        subject = loader()
        return None if subject is None else str(subject)

    def current_identity(self) -> str | None:
        """The identity (see ``storage/incarnations.py``) of the current request's
        subject, resolved once per request (a later call does not start a new
        incarnation for a member who has just left)."""
        subject = self.current_subject()
        if subject is None:
            return None
        if not has_request_context():
            return self._identity_or_id(subject)
        req = request._get_current_object()  # type: ignore[attr-defined]
        kept = g.get(_IDENTITY_KEY)
        if kept is not None and kept[0] is req and kept[1] == subject:
            return kept[2]  # type: ignore[no-any-return]
        identity = self._identity_or_id(subject)
        setattr(g, _IDENTITY_KEY, (req, subject, identity))
        return identity

    def _identity_or_id(self, subject: str) -> str:
        try:
            return self.identity_of(subject)
        except SQLAlchemyError:
            # The database is down: the request is served all the same (capture spools
            # its event); the id stands for itself, as for any first member.
            log.warning("privacy database unreachable; the subject's identity is taken as its id")
            return subject

    # -- identities: a host id may be reused; the extension's records never are ------------
    def identity_of(self, host_id: str) -> str:
        """The identity of whoever has ``host_id`` now (the host's id, for its first member)."""
        return incarnations.identity_of(self.databases.main, host_id, self.now())

    def latest_identity(self, host_id: str) -> str:
        """The identity of whoever has or last had ``host_id`` (starts no new one)."""
        return incarnations.latest_identity(self.databases.main, host_id)

    def host_of(self, identity: str) -> str:
        """The host's id of ``identity``: what the host's data sources know it by."""
        return incarnations.host_of(self.databases.main, identity)

    def end_incarnation(self, identity: str) -> None:
        """``identity`` has left; the next member given the same host id is new."""
        incarnations.end_incarnation(self.databases.main, identity, self.now())

    def is_departed(self, identity: str) -> bool:
        return incarnations.is_departed(self.databases.main, identity)

    def is_officer(self) -> bool:
        loader = self.loaders.officer
        return bool(loader and loader())

    def current_operator(self) -> str:
        """Who is using the officer pages, for operator access records: the officer
        loader's return value when it is a string, else the subject id."""
        loader = self.loaders.officer
        value = loader() if loader else None
        if isinstance(value, str) and value:
            return value
        return self.current_subject() or "officer"

    # -- the host's data -----------------------------------------------------------------
    def subject_email(self, identity: str) -> str | None:
        """The subject's address from the first source holding the ``email`` item."""
        subject = self.host_of(identity)
        for source in self.sources.values():
            field = source.items.get("email")
            if field is None:
                continue
            for record in source.export(subject):
                value = record.data.get(field)
                if isinstance(value, str) and "@" in value:
                    return value
        return None

    def find_member(self, email: str) -> tuple[str, str] | None:
        """(identity, stored address) of the member whose stored address is ``email``.

        The sources' own lookup may match by their database's collation (ignoring
        case or accents); each candidate is confirmed in Python against the address
        as stored, and only the stored address is ever returned for mailing.
        """
        for source in self.sources.values():
            if "email" not in source.items:
                continue
            for subject in source.find("email", email):
                identity = self.identity_of(subject)
                stored = self.subject_email(identity)
                if stored is not None and same_address(stored, email):
                    return identity, stored
        return None


def current_services() -> Services:
    """The services of the current app (for the CLI and the logging processors)."""
    services: Services = current_app.extensions["privacy"].services
    return services


# Re-exported for typing convenience of callers that look up policy ids.
_ = UnknownPolicyId
