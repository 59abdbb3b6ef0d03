"""Operator access records (접속기록): every officer view or export of a member's data,
append-only (PIPA Art. 29; 개인정보의 안전성 확보조치 기준 §8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from ..periods import add_period
from ..storage.tables import operator_access

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["operator_access_history", "record_operator_access"]


def record_operator_access(
    services: Services, *, operator: str, task: str, subject: str | None = None, ip: str | None = None
) -> None:
    """Append an operator access record: who, when, from where, whose data, what task."""
    now = services.now()
    with services.databases.main.begin() as conn:
        conn.execute(
            insert(operator_access).values(
                operator=operator[:191],
                accessed_at=now,
                ip=ip,
                subject=subject,
                task=task[:255],
                expires_at=add_period(now, services.settings.operator_access_period, services.policy.tz),
            )
        )


def operator_access_history(services: Services, subject: str | None = None) -> list[dict[str, Any]]:
    tz = services.policy.tz
    query = select(operator_access).order_by(operator_access.c.id)
    if subject is not None:
        query = query.where(operator_access.c.subject == subject)
    with services.databases.main.connect() as conn:
        return [
            {
                "operator": r["operator"],
                "accessed_at": r["accessed_at"].astimezone(tz).isoformat(),
                "ip": r["ip"],
                "subject": r["subject"],
                "task": r["task"],
                "until": r["expires_at"].astimezone(tz).isoformat(),
            }
            for r in conn.execute(query).mappings()
        ]
