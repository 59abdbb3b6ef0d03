"""Children under the policy's minimum age (개인정보 보호법 제22조의2): the age check a
sign-up runs, and the record of a legal representative's (법정대리인) consent.

The rule itself is the policy's ``[children]`` table (``policy/children.py``). A policy
without one gets the law's floor: 14, no representative's consent accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from ..consent import record_consent_rows
from ..errors import InvalidRequest
from ..policy.children import GUARDIAN_METHODS, AgeCheck, Children, decide_age
from ..storage.tables import consent_events, guardian_consents

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["ChildrenFacade", "check_age", "guardian_consents_of", "mask", "record_guardian_consent"]

_OLDEST = 150  # years: a birth date further back is a typing mistake


def children_rule(services: Services) -> Children:
    return services.policy.children or Children()


def check_age(services: Services, *, birth_date: Any = None, confirmed: bool | None = None) -> AgeCheck:
    """Check a sign-up against the policy's minimum age, today on the policy's calendar.

    Give ``confirmed`` (the "만 14세 이상입니다" box) when the policy's ``age_check`` is
    ``"confirmation"``, ``birth_date`` (a ``date`` or ``YYYY-MM-DD``) when it is
    ``"birth_date"``. Bad input is :class:`InvalidRequest` naming every problem.
    """
    rule = children_rule(services)
    today = services.now().astimezone(services.policy.tz).date()
    problems: list[str] = []
    born: date | None = None
    if (birth_date is None) == (confirmed is None):
        problems.append("give either birth_date= or confirmed=, not both or neither")
    elif birth_date is not None:
        if rule.age_check != "birth_date":
            problems.append(
                'the policy collects no birth date ([children] age_check = "confirmation"): '
                "check with confirmed= (the member confirms their age)"
            )
        born = _birth_date(birth_date, today, problems)
    elif rule.age_check != "confirmation":
        problems.append('the policy checks the birth date ([children] age_check = "birth_date"): give birth_date=')
    elif not isinstance(confirmed, bool):
        problems.append(f"confirmed must be true or false, not {type(confirmed).__name__}")
    if problems:
        raise InvalidRequest("age check: " + "; ".join(problems))
    return decide_age(rule, today, birth_date=born, confirmed=confirmed)


def _birth_date(value: Any, today: date, problems: list[str]) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            problems.append("birth_date is not a date (YYYY-MM-DD)")
            return None
    if not isinstance(value, date):
        problems.append("birth_date is not a date (YYYY-MM-DD)")
        return None
    if value > today:
        problems.append("birth_date is in the future")
    elif today.year - value.year > _OLDEST:
        problems.append(f"birth_date is more than {_OLDEST} years ago")
    return value


def record_guardian_consent(
    services: Services,
    identity: str,
    *,
    guardian_name: str,
    guardian_contact: str,
    method: str,
    verified_at: datetime | None = None,
    purposes: Iterable[str] = (),
) -> dict[str, Any]:
    """Record that a member's legal representative consented, and how that was confirmed
    (시행령 제17조의2 제1항: ``sms``, ``card``, ``mobile_identity``, ``written``, ``email``,
    ``phone``, ``other``). ``purposes`` are the optional (consent-based) purposes the
    representative granted: each becomes a consent-ledger event of channel ``guardian``,
    in the same transaction. Everything is checked before anything is written."""
    policy = services.policy
    now = services.now()
    verified = now if verified_at is None else verified_at
    chosen = list(dict.fromkeys(purposes))
    problems: list[str] = []
    if not children_rule(services).guardian_consent:
        problems.append("the policy accepts no legal representative's consent ([children] guardian_consent = false)")
    for field, value, size in (("guardian_name", guardian_name, 100), ("guardian_contact", guardian_contact, 200)):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{field} is required")
        elif len(value.strip()) > size:
            problems.append(f"{field} is longer than {size} characters")
    if method not in GUARDIAN_METHODS:
        problems.append(f"method must be one of {', '.join(GUARDIAN_METHODS)} (시행령 제17조의2 제1항)")
    if not isinstance(verified, datetime) or verified.tzinfo is None:
        problems.append("verified_at must be an aware datetime")
    elif verified > now:
        problems.append("verified_at is in the future")
    consent_ids = {p.id for p in policy.consent_purposes}
    unknown = [p for p in chosen if p not in consent_ids]
    if unknown:
        problems.append(f"unknown or non-optional purpose(s) {', '.join(map(repr, unknown))}")
    if problems:
        raise InvalidRequest("guardian consent: " + "; ".join(problems))
    with services.databases.main.begin() as conn:
        inserted = conn.execute(
            insert(guardian_consents).values(
                subject=identity,
                guardian_name=guardian_name.strip(),
                guardian_contact=guardian_contact.strip(),
                method=method,
                verified_at=verified,
                recorded_at=now,
                policy_version=policy.version,
            )
        ).inserted_primary_key
        assert inserted is not None
        row_id = inserted[0]
        record_consent_rows(conn, policy, identity, dict.fromkeys(chosen, True), channel="guardian", now=now)
    tz = policy.tz
    return {
        "id": int(row_id),
        "method": method,
        "verified_at": verified.astimezone(tz).isoformat(),
        "recorded_at": now.astimezone(tz).isoformat(),
        "purposes": chosen,
    }


def mask(value: str | None) -> str | None:
    """The first character and ``***``: enough for the member to recognise whom they
    named, not the representative's name or contact itself."""
    return f"{value[0]}***" if value else None


def guardian_consents_of(services: Services, identity: str) -> list[dict[str, Any]]:
    """A member's legal representative's consents, for their own export (PIPA §35):
    how and when it was confirmed, when recorded, the purposes granted (the ledger's
    ``guardian`` events recorded with it), and the representative's name and contact
    **masked** (first character + ``***``): those are the representative's own
    personal data, given for the child's account, and a session of that account is
    not the representative (§35④2: another's interests; the representative asks for
    them in their own right). ``null`` once the purge emptied them."""
    tz = services.policy.tz
    with services.databases.main.connect() as conn:
        rows = (
            conn.execute(
                select(guardian_consents)
                .where(guardian_consents.c.subject == identity)
                .order_by(guardian_consents.c.id)
            )
            .mappings()
            .all()
        )
        granted = conn.execute(
            select(consent_events.c.recorded_at, consent_events.c.purpose)
            .where(
                consent_events.c.subject == identity,
                consent_events.c.channel == "guardian",
                consent_events.c.granted.is_(True),
            )
            .order_by(consent_events.c.id)
        ).all()
    return [
        {
            "method": row["method"],
            "verified_at": row["verified_at"].astimezone(tz).isoformat(),
            "recorded_at": row["recorded_at"].astimezone(tz).isoformat(),
            "purposes": [purpose for at, purpose in granted if at == row["recorded_at"]],
            "policy_version": row["policy_version"],
            "guardian_name": mask(row["guardian_name"]),
            "guardian_contact": mask(row["guardian_contact"]),
        }
        for row in rows
    ]


class ChildrenFacade:
    """``Privacy``'s methods for children under the minimum age (kept here: the extension
    module is the wiring). ``services`` is the current app's."""

    if TYPE_CHECKING:  # Privacy.services gives the current app's

        @property
        def services(self) -> Services: ...

    def check_age(self, birth_date: Any = None, *, confirmed: bool | None = None) -> AgeCheck:
        """Check a sign-up against the policy's ``[children]`` rule (개인정보 보호법 제22조의2).

        >>> check = privacy.check_age(confirmed=request.form.get("age_14") == "yes")
        >>> if check.refused:
        ...     flash(check.message(lang))      # "만 14세 미만은 가입할 수 없습니다."
        """
        return check_age(self.services, birth_date=birth_date, confirmed=confirmed)

    def record_guardian_consent(
        self,
        subject: str,
        *,
        guardian_name: str,
        guardian_contact: str,
        method: str,
        verified_at: datetime | None = None,
        purposes: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Record a legal representative's consent for member ``subject`` (see
        :func:`record_guardian_consent`); the answer names no personal data."""
        services = self.services
        return record_guardian_consent(
            services,
            services.identity_of(str(subject)),
            guardian_name=guardian_name,
            guardian_contact=guardian_contact,
            method=method,
            verified_at=verified_at,
            purposes=purposes,
        )
