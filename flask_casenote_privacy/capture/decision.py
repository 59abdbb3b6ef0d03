"""What the extension decides for the current request: granted purposes, allowed
items, and the retention tag of everything logged while it runs.

The consent of a request comes from the ledger (signed in), the signed cookie
and Sec-GPC. :class:`Decider` computes it once per request (kept in ``g``);
capture and the logging processors read it. What only changes with the policy
(the items of a set of granted purposes, the retention period, the field names
to drop) is computed once and kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app, g, has_app_context, has_request_context, request, session
from sqlalchemy.exc import SQLAlchemyError

from ..consent import Grant, in_force, ledger_grants, suspended
from ..periods import Period, add_period
from ..services import Services, items_of
from ..storage.crypto import subject_ref

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..policy.model import Policy

__all__ = [
    "FIELD_ITEMS",
    "Decider",
    "RequestPrivacy",
    "cookie_grants",
    "current_request_privacy",
    "decide_request",
    "default_allowed_items",
    "latest_grants",
    "stoppable_purposes",
]

log = logging.getLogger("flask_casenote_privacy.capture")

# Which item of the policy each captured or logged field is. A field whose item
# no active purpose uses is neither stored nor logged. Hosts extend it with
# PRIVACY_LOG_FIELD_ITEMS.
FIELD_ITEMS: Mapping[str, str] = {
    "ip": "ip_address",
    "ip_address": "ip_address",
    "remote_addr": "ip_address",
    "method": "usage_record",
    "path": "usage_record",
    "status": "usage_record",
    "duration_ms": "usage_record",
    "user_agent": "device_info",
    "device_family": "device_info",
    "os_family": "device_info",
    "browser_family": "device_info",
    "cookies": "cookie",
    "cookie_ids": "cookie",
}


@dataclass(frozen=True)
class RequestPrivacy:
    """The privacy decisions for one request."""

    subject: str | None
    granted: frozenset[str]  # consent-based purposes granted and in force
    active_purposes: frozenset[str]  # granted + every purpose that needs no consent
    allowed_items: frozenset[str]  # items of the active purposes
    gpc: bool
    retention: str  # retention class of what this request logs (access_log)
    retention_until: datetime | None  # aware, in the policy's time zone
    field_items: Mapping[str, str] = field(default_factory=lambda: FIELD_ITEMS)
    # Derived from the fields above; capture passes them in from its caches.
    disallowed_fields: frozenset[str] | None = field(default=None, compare=False, repr=False)
    sorted_purposes: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(
        cls,
        *,
        subject: str | None,
        granted: frozenset[str],
        active_purposes: frozenset[str],
        allowed_items: frozenset[str],
        gpc: bool,
        retention: str,
        retention_until: datetime | None,
        field_items: Mapping[str, str],
        disallowed_fields: frozenset[str] | None = None,
        sorted_purposes: tuple[str, ...] | None = None,
    ) -> RequestPrivacy:
        """The same as the constructor, with every field given: capture makes one per
        request, and a frozen dataclass's ``__init__`` sets its fields one by one."""
        made = object.__new__(cls)
        made.__dict__.update(
            subject=subject,
            granted=granted,
            active_purposes=active_purposes,
            allowed_items=allowed_items,
            gpc=gpc,
            retention=retention,
            retention_until=retention_until,
            field_items=field_items,
            disallowed_fields=disallowed_fields,
            sorted_purposes=sorted_purposes,
        )
        return made

    def allows_field(self, name: str) -> bool:
        """Fields not mapped to an item (event names, ids, timings) are always allowed."""
        item = self.field_items.get(name)
        return item is None or item in self.allowed_items

    def unconsented_fields(self) -> frozenset[str]:
        """The mapped field names whose item is not allowed (what ``allows_field`` refuses)."""
        if self.disallowed_fields is not None:
            return self.disallowed_fields
        return disallowed_fields(self.field_items, self.allowed_items)

    def purposes_sorted(self) -> tuple[str, ...]:
        """The active purposes, sorted."""
        if self.sorted_purposes is not None:
            return self.sorted_purposes
        return tuple(sorted(self.active_purposes))


def disallowed_fields(field_items: Mapping[str, str], allowed_items: frozenset[str]) -> frozenset[str]:
    return frozenset(name for name, item in field_items.items() if item not in allowed_items)


def current_request_privacy() -> RequestPrivacy | None:
    """The decisions for the current request, or ``None`` outside a captured request."""
    if not has_request_context():
        return None
    ctx_g = g._get_current_object().__dict__  # cheaper than a g.get through the proxy each time
    state: RequestPrivacy | None = ctx_g.get("_privacy_request")
    if state is None:
        decide = ctx_g.get("_privacy_decide")  # set by capture; decided on first use
        if decide is not None:
            state = decide()
    return state


def default_allowed_items() -> frozenset[str] | None:
    """Outside a request no consent is known: only items of purposes that need no
    consent may be logged (fail closed). ``None`` without an app context."""
    if not has_app_context():
        return None
    privacy = current_app.extensions.get("privacy")
    if privacy is None:
        return None
    items: frozenset[str] = privacy.services.always_allowed_items
    return items


# Flask's session remembers (as a keyed hash) whom the extension last saw signed in,
# so that a visitor's cookie choices are carried into the ledger only at sign-in:
# a consent cookie planted in a signed-in member's browser later counts for nothing.
SIGNED_IN_KEY = "_privacy_member"


def member_marker(services: Services, subject: str) -> str:
    return subject_ref(services.hash_key, subject)[:32]


def signing_in(services: Services, subject: str) -> bool:
    """Whether this request is the first the extension sees of ``subject`` signed in."""
    return bool(session.get(SIGNED_IN_KEY) != member_marker(services, subject))


def cookie_grants(services: Services, value: str | None = None) -> list[Grant]:
    """The grants in the request's consent cookie (or in ``value``, a new one)."""
    cookie = services.consent_cookie
    return cookie.loads(value if value is not None else request.cookies.get(cookie.name))


def decide_request(services: Services, cookie_value: str | None = None) -> RequestPrivacy:
    """Consent for this request: the ledger (signed in) and the cookie, minus Sec-GPC.

    ``cookie_value`` stands for a consent cookie being set by this very request.
    """
    return Decider(services).decide(cookie_value)


_NONE_GRANTED: frozenset[str] = frozenset()


class Decider:
    """``decide_request`` for one app, with what only changes with the policy kept:
    the retention period and zone, and per set of granted purposes the active
    purposes, the allowed items and the field names they do not allow."""

    _MAX_CACHED = 256  # sets of granted purposes (at most 2**consent purposes)

    def __init__(self, services: Services) -> None:
        self.services = services
        self._lock = threading.Lock()
        self._key: tuple[Policy, str, Mapping[str, str]] | None = None
        self._period: Period | None = None
        self._tz: ZoneInfo | None = None
        # Keyed by (granted, suspended): a completed processing stop suspends a purpose
        # that needs no consent for its subject (PIPA §37①).
        self._by_granted: dict[
            tuple[frozenset[str], frozenset[str]],
            tuple[frozenset[str], frozenset[str], frozenset[str], tuple[str, ...]],
        ]
        self._by_granted = {}
        self._granted_by_grants: dict[tuple[tuple[Grant, ...], bool], frozenset[str]] = {}
        self._stoppable: frozenset[str] = _NONE_GRANTED

    def _load(self, policy: Policy, retention: str) -> None:
        period = policy.retention_class(retention).period
        tz = policy.tz
        with self._lock:
            self._period, self._tz = period, tz
            self._by_granted = {}
            self._granted_by_grants = {}
            self._stoppable = stoppable_purposes(policy)
            self._key = (policy, retention, self.services.field_items)

    def _derived(
        self, policy: Policy, granted: frozenset[str], stopped: frozenset[str] = _NONE_GRANTED
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str], tuple[str, ...]]:
        state = self.services
        active = granted | (state.no_consent_purposes - stopped)
        # items_of(active) is the same set; the common case reuses the one kept.
        allowed = items_of(policy, active) if stopped else items_of(policy, granted) | state.always_allowed_items
        derived = (active, allowed, disallowed_fields(state.field_items, allowed), tuple(sorted(active)))
        with self._lock:
            if len(self._by_granted) >= self._MAX_CACHED:
                self._by_granted.clear()
            self._by_granted[(granted, stopped)] = derived
        return derived

    def _in_force(self, policy: Policy, grants: list[Grant], gpc: bool) -> frozenset[str]:
        """``in_force``, remembered per policy for each set of grants (a consent cookie
        repeats them on every request; checking them hashes each purpose's items)."""
        key = (tuple(grants), gpc)
        found = self._granted_by_grants.get(key)
        if found is None:
            found = in_force(policy, grants, gpc)
            with self._lock:
                if len(self._granted_by_grants) >= self._MAX_CACHED:
                    self._granted_by_grants.clear()
                self._granted_by_grants[key] = found
        return found

    def decide(self, cookie_value: str | None = None) -> RequestPrivacy:
        return self.decide_for(self.services.current_identity(), cookie_value)

    def decide_for(self, subject: str | None, cookie_value: str | None = None) -> RequestPrivacy:
        """``decide`` for the request's ``subject`` (its identity), already resolved."""
        services = state = self.services
        settings = state.settings
        policy = settings.policy
        retention = settings.capture_retention
        key = self._key
        if key is None or key[0] is not policy or key[1] != retention or key[2] is not state.field_items:
            self._load(policy, retention)
        period, tz = self._period, self._tz
        req = request._get_current_object()  # type: ignore[attr-defined]
        ctx_g = g._get_current_object().__dict__  # g's own get and setattr are calls on this dict
        # req.headers.get("Sec-GPC"), without building a KeyError when it is absent
        gpc = req.environ.get("HTTP_SEC_GPC", "").strip() == "1"
        cookie = state.consent_cookie
        if cookie_value is None:
            cookies = req.cookies
            # not cookies.get(): a MultiDict builds a KeyError for a missing name
            cookie_value = cookies[cookie.name] if cookie.name in cookies else None  # noqa: SIM401
        grants = cookie.loads(cookie_value) if cookie_value else []
        stopped = _NONE_GRANTED
        if subject is not None:
            if not signing_in(services, subject):
                grants = []  # a signed-in member's consent is the ledger's alone
            try:
                ledger = ledger_grants(state.databases.main, subject)
                # Only the ledger can suspend a purpose, never a cookie.
                stopped = suspended(ledger, state.no_consent_purposes) if ledger else _NONE_GRANTED
                grants = latest_grants(ledger, grants)
            except SQLAlchemyError:
                # The ledger is unreachable: serve the request, fail closed. No consent;
                # and since a completed processing stop (PIPA §37①) cannot be read
                # either, every purpose a stop could have suspended is left out, except
                # those a law obliges us to pursue (the access log, 통신비밀보호법
                # 제15조의2, PIPA §29): a stop of them is refused (§37②1) anyway.
                log.warning("privacy ledger unreachable; treating the request as without consent or stoppable purposes")
                grants = []
                stopped = self._stoppable
        at: datetime | None = ctx_g.get("_privacy_at")
        if at is None:
            at = services.now()
        lapses = state.consent_lapses()
        if not grants:
            granted = _NONE_GRANTED
        elif lapses:  # a policy change voids some grants from its effective date: depends on `at`
            granted = in_force(policy, grants, gpc, lapses, at)
        else:
            granted = self._in_force(policy, grants, gpc)
        derived = self._by_granted.get((granted, stopped))
        if derived is None:
            derived = self._derived(policy, granted, stopped)
        active, allowed, disallowed, ordered = derived
        decided = RequestPrivacy.make(
            subject=subject,
            granted=granted,
            active_purposes=active,
            allowed_items=allowed,
            gpc=gpc,
            retention=retention,
            retention_until=None if period is None or tz is None else add_period(at, period, tz),
            field_items=state.field_items,
            disallowed_fields=disallowed,
            sorted_purposes=ordered,
        )
        ctx_g["_privacy_request"] = decided
        return decided


def stoppable_purposes(policy: Policy) -> frozenset[str]:
    """The purposes that need no consent and that a processing stop may suspend for
    a member while the ledger cannot say whether one did: all but legal obligations."""
    return frozenset(p.id for p in policy.purposes if not p.needs_consent and p.basis != "legal_obligation")


def latest_grants(*sources: list[Grant]) -> list[Grant]:
    """Per purpose, the most recent decision among several sources."""
    latest: dict[str, Grant] = {}
    for grants in sources:
        for grant in grants:
            if grant.purpose not in latest or latest[grant.purpose].at < grant.at:
                latest[grant.purpose] = grant
    return list(latest.values())
