"""Announcing a new version of the policy to the members whose consent it voids.

The policy in force is compared with the version recorded before it
(``storage/policy_history.py``). A consent-based purpose it widens (more items,
a longer period, a new recipient of provision) needs consent again from its
effective date (개인정보 보호법 §15②, §17②): the members whose latest grant of
such a purpose would lapse are told through the outbox, each once per version
(``privacy_policy_notice``), before the effective date by the lead time: 7 days,
30 days for a change that matters to members (see ``docs/korean-law.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidRequest
from ..periods import zone
from ..policy.diff import PolicyDiff
from ..services import Services
from ..storage.policy_history import Version, diff_versions, list_versions, previous_of
from ..storage.tables import consent_events, policy_notices
from .outbox import enqueue, wake
from .policy_notice import POLICY_CHANGE

__all__ = ["LEAD_DAYS", "POLICY_CHANGE", "Announcement", "announce", "plan_announcement"]

# Days of notice before the effective date: (any change, a change that matters to members).
LEAD_DAYS = (7, 30)


@dataclass
class Announcement:
    """What announcing the policy in force means now, and, once done, what was done."""

    new: Version
    old: Version | None
    diff: PolicyDiff | None
    now: datetime
    affected: dict[str, tuple[str, ...]] = field(default_factory=dict)  # identity -> lapsing purposes
    told_before: set[str] = field(default_factory=set)
    told: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)  # identity -> host id, for display
    dry_run: bool = True

    @property
    def lead_days(self) -> int:
        return LEAD_DAYS[1] if self.diff is not None and self.diff.material else LEAD_DAYS[0]

    @property
    def notice_by(self) -> date:
        """The last day to tell members: the effective date less the lead time."""
        return self.new.effective_date - timedelta(days=self.lead_days)

    @property
    def today(self) -> date:
        return self.now.astimezone(zone(self.new.tz_name)).date()

    @property
    def late(self) -> bool:
        return self.today > self.notice_by

    @property
    def to_tell(self) -> list[str]:
        return [s for s in self.affected if s not in self.told_before]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.new.summary(),
            "previous": None if self.old is None else self.old.summary(),
            "material": bool(self.diff and self.diff.material),
            "lapsing_purposes": {} if self.diff is None else {p: list(r) for p, r in self.diff.lapsing.items()},
            "lead_days": self.lead_days,
            "notice_by": self.notice_by.isoformat(),
            "late": self.late,
            "dry_run": self.dry_run,
            "members": [
                {
                    "member": self.hosts.get(s, s),
                    "purposes": list(self.affected[s]),
                    "status": self._status(s),
                }
                for s in self.affected
            ],
        }

    def _status(self, identity: str) -> str:
        if identity in self.told_before:
            return "told before"
        if identity in self.unreachable:
            return "no address"
        if identity in self.told:
            return "told"
        return "would be told" if self.dry_run else "not told"


def plan_announcement(services: Services, now: datetime | None = None) -> Announcement:
    """Who the policy in force must be announced to, and by when; changes nothing."""
    now = now or services.now()
    versions = list_versions(services.databases.main)
    new = next((v for v in versions if v.digest == services.policy.digest), None)
    if new is None:
        raise InvalidRequest(
            "the policy in force is not recorded yet; run `flask privacy upgrade` (or start the app) first"
        )
    old = previous_of(versions, new)
    diff = None if old is None else diff_versions(old, new)
    plan = Announcement(new, old, diff, now)
    if diff is None or not diff.lapsing:
        return plan
    later = {v.version for v in versions if v.id >= new.id}
    plan.affected = _affected(services, diff, new, later)
    plan.hosts = {s: services.host_of(s) for s in plan.affected}
    with services.databases.main.connect() as conn:
        told = conn.execute(select(policy_notices.c.subject).where(policy_notices.c.version_id == new.id)).scalars()
        plan.told_before = set(told) & set(plan.affected)
    return plan


def _affected(services: Services, diff: PolicyDiff, new: Version, later: set[str]) -> dict[str, tuple[str, ...]]:
    """Members whose latest grant of a lapsing purpose would lapse on the effective date."""
    purposes = sorted(diff.lapsing)
    latest = (
        select(consent_events.c.subject, consent_events.c.purpose, func.max(consent_events.c.id).label("id"))
        .where(consent_events.c.purpose.in_(purposes))
        .group_by(consent_events.c.subject, consent_events.c.purpose)
        .subquery()
    )
    query = (
        select(consent_events)
        .join(latest, and_(consent_events.c.id == latest.c.id))
        .order_by(consent_events.c.subject, consent_events.c.purpose)
    )
    affected: dict[str, list[str]] = {}
    with services.databases.main.connect() as conn:
        for row in conn.execute(query).mappings():
            voided = row["recorded_at"] < new.recorded_at or row["policy_version"] not in later
            if row["granted"] and voided:
                affected.setdefault(row["subject"], []).append(row["purpose"])
    return {s: tuple(p) for s, p in affected.items() if not services.is_departed(s)}


def announce(
    services: Services, *, now: datetime | None = None, dry_run: bool = False, allow_late: bool = False
) -> Announcement:
    """Tell every affected member not told yet (through the outbox); ``dry_run``
    only says who would be told. Refused (nothing sent) when the effective date is
    closer than the lead time, unless ``allow_late``."""
    plan = plan_announcement(services, now)
    plan.dry_run = dry_run
    if dry_run or not plan.affected:
        return plan
    if plan.late and not allow_late:
        raise InvalidRequest(
            f"version {plan.new.version} takes effect on {plan.new.effective_date.isoformat()}: members must be "
            f"told {plan.lead_days} days before, by {plan.notice_by.isoformat()}, and today is "
            f"{plan.today.isoformat()}. Move effective_date in the policy file to "
            f"{(plan.today + timedelta(days=plan.lead_days)).isoformat()} or later, or pass --late to tell them anyway"
        )
    for identity in plan.to_tell:
        address = services.subject_email(identity)
        if address is None:
            plan.unreachable.append(identity)
            continue
        try:
            with services.databases.main.begin() as conn:
                inserted = conn.execute(
                    insert(policy_notices).values(
                        version_id=plan.new.id,
                        subject=identity,
                        purposes=",".join(plan.affected[identity])[:255],
                        notified_at=plan.now,
                    )
                ).inserted_primary_key
                notice_id = inserted[0] if inserted is not None else None
                enqueue(services, POLICY_CHANGE, recipient=address, request_id=str(notice_id), conn=conn)
        except IntegrityError:
            plan.told_before.add(identity)  # another run told them meanwhile
            continue
        plan.told.append(identity)
    if plan.told:
        wake(services)
    return plan
