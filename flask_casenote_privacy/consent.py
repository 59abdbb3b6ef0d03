"""Who granted which purpose: the consent ledger, the signed consent cookie, Sec-GPC.

Purposes whose basis is ``consent`` are off until granted. A signed-in subject's
grants live in the append-only ledger (latest event wins); an anonymous
visitor's in a signed cookie. A grant given when the purpose had other items
no longer counts. Anything doubtful (tampered, expired, garbled) counts as no
consent: fail closed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select
from sqlalchemy.engine import Connection

from .policy.diff import Lapse
from .policy.model import Policy
from .signing import consent_serializer, verify_timed
from .storage.tables import consent_events

__all__ = [
    "ConsentCookie",
    "Grant",
    "change_consent",
    "consent_history",
    "in_force",
    "ledger_grants",
    "record_consent",
    "record_consent_rows",
    "suspended",
    "validate_choices",
]

# Channels a ledger event can come through: the consent page, an anonymous
# visitor's cookie carried over at sign-in, a withdrawal request, a legal
# representative's consent for a child (개인정보 보호법 제22조의2), and a completed
# processing stop of a purpose that needs no consent (PIPA §37①: "suspended").
CHANNELS = ("web", "cookie", "withdrawal", "guardian", "stop")


@dataclass(frozen=True)
class Grant:
    """One purpose's latest decision: granted or not, and for which items."""

    purpose: str
    granted: bool
    fingerprint: str
    policy_version: str
    at: datetime


def in_force(
    policy: Policy,
    grants: Iterable[Grant],
    gpc: bool,
    lapses: Sequence[Lapse] = (),
    now: datetime | None = None,
) -> frozenset[str]:
    """The consent-based purposes granted and still valid under ``policy``.

    ``lapses`` (``storage/policy_history.py``): from its effective date, a version
    that widened a consent-based purpose voids the consents given before it
    (개인정보 보호법 §15②: a changed purpose, item or period is agreed again)."""
    result = set()
    for grant in grants:
        purpose = policy.find_purpose(grant.purpose)
        if purpose is None:
            continue  # a purpose the policy no longer has
        if not (grant.granted and purpose.needs_consent):
            continue
        if grant.fingerprint != purpose.fingerprint:
            continue  # given when the purpose used other items: ask again
        if gpc and purpose.honours_gpc:
            continue
        if now is not None and any(
            lapse.purpose == grant.purpose and lapse.voids(grant.at, grant.policy_version, now) for lapse in lapses
        ):
            continue  # the policy changed what this consent covers: ask again
        result.add(purpose.id)
    return frozenset(result)


def suspended(grants: Iterable[Grant], no_consent_purposes: frozenset[str]) -> frozenset[str]:
    """The purposes resting on contract, law or legitimate interest that a completed
    processing stop (PIPA §37①) suspended for this subject: their latest ledger event
    says "not granted". Consent-based purposes are never in it (``in_force`` leaves
    them out already)."""
    return frozenset(g.purpose for g in grants if not g.granted and g.purpose in no_consent_purposes)


# -- the ledger (signed-in subjects) ---------------------------------------------
def ledger_grants(engine: Engine, subject: str) -> list[Grant]:
    """The latest event per purpose of ``subject``."""
    latest = (
        select(consent_events.c.purpose, func.max(consent_events.c.id).label("id"))
        .where(consent_events.c.subject == subject)
        .group_by(consent_events.c.purpose)
        .subquery()
    )
    query = select(consent_events).join(
        latest, and_(consent_events.c.id == latest.c.id, consent_events.c.purpose == latest.c.purpose)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        Grant(r["purpose"], r["granted"], r["purpose_fingerprint"], r["policy_version"], r["recorded_at"]) for r in rows
    ]


def record_consent(
    engine: Engine,
    policy: Policy,
    subject: str,
    choices: Mapping[str, bool],
    *,
    channel: str,
    now: datetime,
) -> None:
    """Append one ledger event per choice, in one transaction."""
    if not choices:
        return
    with engine.begin() as conn:
        record_consent_rows(conn, policy, subject, choices, channel=channel, now=now)


def record_consent_rows(
    conn: Connection,
    policy: Policy,
    subject: str,
    choices: Mapping[str, bool],
    *,
    channel: str,
    now: datetime,
) -> None:
    """:func:`record_consent` inside the caller's transaction (a legal representative's
    consent is written with its own record: rights/guardians.py)."""
    if not choices:
        return
    rows = [
        {
            "subject": subject,
            "purpose": purpose_id,
            "granted": bool(granted),
            "policy_version": policy.version,
            "purpose_fingerprint": policy.purpose(purpose_id).fingerprint,
            "channel": channel,
            "recorded_at": now,
        }
        for purpose_id, granted in choices.items()
    ]
    conn.execute(insert(consent_events), rows)


def change_consent(
    engine: Engine,
    policy: Policy,
    cookie: ConsentCookie,
    subject: str | None,
    choices: Mapping[str, bool],
    *,
    current_cookie: str | None,
    now: datetime,
) -> str | None:
    """Record choices made on the consent page: a signed-in member's in the ledger
    (returns ``None``); a visitor's in a new cookie value that keeps their earlier
    choices (returned, for the caller to set)."""
    if subject is not None:
        record_consent(engine, policy, subject, choices, channel="web", now=now)
        return None
    merged = {g.purpose: g.granted for g in cookie.loads(current_cookie)} | dict(choices)
    return cookie.dumps(policy, merged)


def consent_history(engine: Engine, subject: str) -> list[dict[str, Any]]:
    """Every ledger event of ``subject``, oldest first (for access requests)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(consent_events).where(consent_events.c.subject == subject).order_by(consent_events.c.id)
        ).mappings()
        return [
            {
                "purpose": r["purpose"],
                "granted": r["granted"],
                "policy_version": r["policy_version"],
                "channel": r["channel"],
                "recorded_at": r["recorded_at"].isoformat(),
            }
            for r in rows
        ]


# -- the cookie (anonymous visitors) ---------------------------------------------
class ConsentCookie:
    """A signed cookie holding an anonymous visitor's choices.

    The payload is ``{"v": policy version, "p": {purpose: [granted, fingerprint]}}``;
    it is signed with the app's ``SECRET_KEY`` and its own salt, and expires.

    A visitor sends the same value on every request, so the outcome of checking
    a value's signature (its grants and when it was signed, or "bad") is kept
    in a small LRU keyed by the exact value. Its age is checked against the
    clock on every call, so a cached value expires like any other.
    """

    CACHE_SIZE = 2048

    def __init__(
        self, secret_key: str | bytes | list[bytes], name: str, max_age: int, clock: Callable[[], datetime]
    ) -> None:
        self.serializer = consent_serializer(secret_key, clock)
        self.name = name
        self.max_age = max_age
        self._clock = clock
        self._verified: OrderedDict[str, tuple[tuple[Grant, ...], int] | None] = OrderedDict()
        self._verified_lock = threading.Lock()

    def dumps(self, policy: Policy, choices: Mapping[str, bool]) -> str:
        payload = {
            "v": policy.version,
            "p": {pid: [bool(ok), policy.purpose(pid).fingerprint] for pid, ok in sorted(choices.items())},
        }
        return self.serializer.dumps(payload)

    def loads(self, value: str | None) -> list[Grant]:
        """The grants in a cookie value; ``[]`` for a missing, expired, tampered or garbled one."""
        if not value or len(value) > 4096:
            return []
        verified = self._verify(value)
        if verified is None:
            return []
        grants, signed_at = verified
        if self.max_age is not None:
            # As itsdangerous's TimestampSigner.unsign: too old or from the future is expired.
            age = int(self._clock().timestamp()) - signed_at
            if age > self.max_age or age < 0:
                return []
        return list(grants)

    def _verify(self, value: str) -> tuple[tuple[Grant, ...], int] | None:
        """(grants, signing time) of a value whose signature holds, else ``None``; cached."""
        with self._verified_lock:
            try:
                self._verified.move_to_end(value)
                return self._verified[value]
            except KeyError:
                pass
        verified = verify_timed(self.serializer, value)
        result: tuple[tuple[Grant, ...], int] | None = None
        if verified is not None:
            payload, signed_at = verified
            result = (tuple(_grants_from_payload(payload, signed_at)), int(signed_at.timestamp()))
        with self._verified_lock:
            self._verified[value] = result
            while len(self._verified) > self.CACHE_SIZE:
                self._verified.popitem(last=False)
        return result


def _grants_from_payload(payload: Any, signed_at: datetime) -> list[Grant]:
    if not isinstance(payload, dict) or not isinstance(payload.get("p"), dict):
        return []
    version = payload.get("v") if isinstance(payload.get("v"), str) else ""
    at = signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=timezone.utc)
    grants = []
    for purpose, value in payload["p"].items():
        if (
            isinstance(purpose, str)
            and isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], bool)
            and isinstance(value[1], str)
        ):
            grants.append(Grant(purpose, value[0], value[1], str(version), at))
    return grants


def validate_choices(policy: Policy, raw: Any) -> tuple[dict[str, bool], list[str]]:
    """Check ``{"purpose id": true|false, ...}``: every problem, or the clean choices."""
    if not isinstance(raw, dict) or not raw:
        return {}, ['expected {"purposes": {"<purpose id>": true|false, ...}} with at least one purpose']
    problems = []
    choices: dict[str, bool] = {}
    for purpose_id, value in raw.items():
        purpose = policy.find_purpose(str(purpose_id))
        if purpose is None:
            problems.append(f"unknown purpose {purpose_id!r}")
            continue
        if not purpose.needs_consent:
            problems.append(f"purpose {purpose_id!r} rests on {purpose.basis}, not consent, and cannot be toggled")
            continue
        if not isinstance(value, bool):
            problems.append(f"purpose {purpose_id!r}: expected true or false, not {value!r}")
            continue
        choices[purpose.id] = value
    return choices, problems
