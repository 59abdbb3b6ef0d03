"""What a purge reports: per retention class, how many records were destroyed, how
many are kept, and the next expiry; and the run every ledger row of it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ClassReport", "PurgeReport", "Run"]


@dataclass(frozen=True)
class Run:
    """One destruction run as the ledger records it: a purge, or the erasure done for a
    request (its id is then the request's). Every ledger row names its run."""

    id: str
    now: datetime  # the instant the run decides by (the ledger's ``purge_now``)
    executor: str  # who ran it: an operator, "withdrawal", "app"...
    approved_by: str | None = None  # who approved the destruction (파기 승인): --approved-by, the schedule


@dataclass
class ClassReport:
    retention: str
    statute: str
    destroyed: int = 0
    kept: int = 0
    next_expiry: datetime | None = None
    targets: set[str] = field(default_factory=set)


@dataclass
class PurgeReport:
    run: Run
    dry_run: bool
    classes: dict[str, ClassReport] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def now(self) -> datetime:
        return self.run.now

    def cls(self, retention: str, statute: str) -> ClassReport:
        if retention not in self.classes:
            self.classes[retention] = ClassReport(retention, statute)
        return self.classes[retention]

    @property
    def destroyed(self) -> int:
        return sum(c.destroyed for c in self.classes.values())

    def to_dict(self, tz: Any) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "now": self.now.astimezone(tz).isoformat(),
            "dry_run": self.dry_run,
            "destroyed": self.destroyed,
            "classes": [
                {
                    "retention": c.retention,
                    "statute": c.statute,
                    "destroyed": c.destroyed,
                    "kept": c.kept,
                    "next_expiry": c.next_expiry.astimezone(tz).isoformat() if c.next_expiry else None,
                    "targets": sorted(c.targets),
                }
                for c in self.classes.values()
            ],
        }
