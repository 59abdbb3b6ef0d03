"""Every text of the policy that has been recorded, with its effective date, and the
consents each change made lapse.

A version is recorded at start-up (``upgrade``), once per distinct text (its
digest is unique); versions are ordered as they were recorded. An old policy
file without ``effective_date`` takes effect the day it was recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, select

from ..periods import zone
from ..policy.diff import Lapse, PolicyDiff, diff_policies
from .tables import policy_versions

__all__ = ["Version", "consent_lapses", "find_version", "list_versions", "previous_of"]


@dataclass(frozen=True)
class Version:
    """One recorded text of the policy."""

    id: int
    version: str
    digest: str
    document: dict[str, Any]
    recorded_at: datetime

    @property
    def tz_name(self) -> str:
        return str(self.document.get("timezone") or "Asia/Seoul")

    @property
    def effective_date(self) -> date:
        """The policy's ``effective_date``; for a file without one, the day it was recorded."""
        raw = self.document.get("effective_date")
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        return self.recorded_at.astimezone(zone(self.tz_name)).date()

    @cached_property
    def effective_at(self) -> datetime:
        """The start of the effective date in the policy's time zone, as UTC."""
        local = datetime.combine(self.effective_date, time(0), tzinfo=zone(self.tz_name))
        return local.astimezone(timezone.utc)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "effective_date": self.effective_date.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "digest": self.digest,
        }


def _version(row: Any) -> Version:
    return Version(row.id, row.version, row.digest, json.loads(row.document), row.recorded_at)


def list_versions(engine: Engine) -> list[Version]:
    """Every recorded version, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(policy_versions).order_by(policy_versions.c.id)).all()
    return [_version(r) for r in rows]


def find_version(engine: Engine, version_id: int) -> Version | None:
    with engine.connect() as conn:
        row = conn.execute(select(policy_versions).where(policy_versions.c.id == version_id)).first()
    return None if row is None else _version(row)


def previous_of(versions: list[Version], version: Version) -> Version | None:
    """The version recorded just before ``version``."""
    earlier = [v for v in versions if v.id < version.id]
    return earlier[-1] if earlier else None


def diff_versions(old: Version, new: Version) -> PolicyDiff:
    return diff_policies(old.document, new.document)


def consent_lapses(versions: list[Version], current_digest: str) -> tuple[tuple[Lapse, ...], bool]:
    """The lapses of consent the versions up to the one with ``current_digest`` made,
    and whether that version was found (when not, the list is provisional: the
    policy in force has not been recorded yet)."""
    position = next((i for i, v in enumerate(versions) if v.digest == current_digest), None)
    chain = versions if position is None else versions[: position + 1]
    lapses = []
    for index in range(1, len(chain)):
        old, new = chain[index - 1], chain[index]
        later = frozenset(v.version for v in chain[index:])
        for purpose in diff_versions(old, new).lapsing:
            lapses.append(Lapse(purpose, new.effective_at, new.recorded_at, later))
    return tuple(lapses), position is not None
