"""Operator access records (접속기록): every officer view or export of a member's data,
append-only and hash-chained (PIPA Art. 29; 개인정보의 안전성 확보조치 기준 §8).

Kept at least one year, two years where the policy's ``[service]`` block says the
service holds 50,000 or more data subjects (§8 ①; ``PRIVACY_OPERATOR_ACCESS_PERIOD``
may only lengthen it); an export or download records its reason (§8 ②); each
record is chained to the one before it (storage/access_chain.py, §8 ③)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..periods import add_period
from ..storage.access_chain import ChainCheck, append_record, chain_key, verify_chain
from ..storage.tables import operator_access

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["access_record_expiry", "operator_access_history", "record_operator_access", "verify_access_records"]


def access_record_expiry(services: Services, accessed_at: datetime) -> datetime:
    """The later of the configured period and the one the law asks of this service."""
    tz = services.policy.tz
    configured = add_period(accessed_at, services.settings.operator_access_period, tz)
    required = add_period(accessed_at, services.policy.service.access_record_period, tz)
    return max(configured, required)


def record_operator_access(
    services: Services,
    *,
    operator: str,
    task: str,
    subject: str | None = None,
    ip: str | None = None,
    reason: str | None = None,
) -> None:
    """Append an operator access record: who, when, from where, whose data, what task, why."""
    now = services.now()
    values = {
        "operator": operator[:191],
        "accessed_at": now,
        "ip": ip,
        "subject": subject,
        "task": task[:255],
        "reason": reason,
        "expires_at": access_record_expiry(services, now),
    }
    with services.databases.main.begin() as conn:
        append_record(conn, chain_key(services.hash_key), values)


def verify_access_records(services: Services) -> ChainCheck:
    """Check the hash chain from the purge's anchor to its head (``flask privacy audit verify``)."""
    with services.databases.main.connect() as conn:
        return verify_chain(conn, chain_key(services.hash_key))


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
                "reason": r["reason"],
                "until": r["expires_at"].astimezone(tz).isoformat(),
            }
            for r in conn.execute(query).mappings()
        ]
