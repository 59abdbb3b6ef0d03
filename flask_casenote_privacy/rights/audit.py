"""Two append-only ledgers: third-party provisions (policy section 3) and operator
access records (every officer view or export of a member's data, PIPA Art. 29)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from ..errors import InvalidRequest
from ..periods import add_period
from ..storage.tables import operator_access, provisions

if TYPE_CHECKING:
    from ..extension import Privacy

__all__ = ["provision_history", "record_operator_access", "record_provision"]


def record_provision(privacy: Privacy, subject: str, *, recipient: str, items: Iterable[str]) -> dict[str, Any]:
    """Record one handover of ``items`` about ``subject`` to ``recipient``.

    Items the policy does not declare for that recipient are refused
    (:class:`InvalidRequest`), and nothing is recorded.
    """
    policy = privacy.policy
    items = list(items)
    problems = []
    try:
        declared = set(policy.recipient(recipient).items)
    except KeyError:
        declared = set()
        problems.append(
            f"recipient {recipient!r} is not in the policy (recipients: {', '.join(r.id for r in policy.recipients)})"
        )
    if not items:
        problems.append("items: name at least one item handed over")
    undeclared = [i for i in items if i not in declared]
    if declared and undeclared:
        problems.append(
            f"items {undeclared} are not declared for {recipient!r} in the policy (declared: {sorted(declared)})"
        )
    if not subject:
        problems.append("subject: required")
    if problems:
        raise InvalidRequest("; ".join(problems))
    now = privacy.now()
    retention = privacy.settings.provision_retention
    row = {
        "subject": str(subject),
        "recipient": recipient,
        "items": ",".join(items),
        "provided_at": now,
        "retention": retention,
        "expires_at": privacy.expires_at(retention, now),
    }
    with privacy.databases.main.begin() as conn:
        conn.execute(insert(provisions).values(row))
    return row


def provision_history(privacy: Privacy, subject: str) -> list[dict[str, Any]]:
    tz = privacy.policy.tz
    with privacy.databases.main.connect() as conn:
        rows = conn.execute(
            select(provisions).where(provisions.c.subject == subject).order_by(provisions.c.id)
        ).mappings()
        return [
            {
                "recipient": r["recipient"],
                "recipient_name": privacy.policy.recipient(r["recipient"]).name.to_dict()
                if r["recipient"] in {x.id for x in privacy.policy.recipients}
                else None,
                "items": r["items"].split(","),
                "provided_at": r["provided_at"].astimezone(tz).isoformat(),
                "retention": r["retention"],
                "until": r["expires_at"].astimezone(tz).isoformat(),
            }
            for r in rows
        ]


def record_operator_access(
    privacy: Privacy, *, operator: str, task: str, subject: str | None = None, ip: str | None = None
) -> None:
    """Append an operator access record: who, when, from where, whose data, what task."""
    now = privacy.now()
    with privacy.databases.main.begin() as conn:
        conn.execute(
            insert(operator_access).values(
                operator=operator[:191],
                accessed_at=now,
                ip=ip,
                subject=subject,
                task=task[:255],
                expires_at=add_period(now, privacy.settings.operator_access_period, privacy.policy.tz),
            )
        )


def operator_access_history(privacy: Privacy, subject: str | None = None) -> list[dict[str, Any]]:
    tz = privacy.policy.tz
    query = select(operator_access).order_by(operator_access.c.id)
    if subject is not None:
        query = query.where(operator_access.c.subject == subject)
    with privacy.databases.main.connect() as conn:
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
