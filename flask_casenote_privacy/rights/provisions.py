"""The provision ledger: every handover of personal data to a recipient the policy
names (policy section 3; PIPA Art. 17, 26), append-only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select

from ..errors import InvalidRequest
from ..services import Services
from ..storage.tables import provisions

__all__ = ["provision_history", "record_provision"]


def record_provision(services: Services, subject: str, *, recipient: str, items: Iterable[str]) -> dict[str, Any]:
    """Record one handover of ``items`` about ``subject`` to ``recipient``.

    Items the policy does not declare for that recipient are refused
    (:class:`InvalidRequest`), and nothing is recorded. The answer and the history
    carry the recipient's ``relationship`` from the policy: a handover to a processor
    (``entrustment``, 처리위탁, PIPA §26) is recorded as such, apart from a provision to
    a third party (``provision``, 제3자 제공, §17).
    """
    policy = services.policy
    items = list(items)
    problems = []
    found = policy.find_recipient(recipient)
    declared = set(found.items) if found else set()
    if found is None:
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
    now = services.now()
    retention = services.settings.provision_retention
    row = {
        "subject": str(subject),
        "recipient": recipient,
        "items": ",".join(items),
        "provided_at": now,
        "retention": retention,
        "expires_at": services.expires_at(retention, now),
    }
    with services.databases.main.begin() as conn:
        conn.execute(insert(provisions).values(row))
    return {**row, "relationship": found.relationship if found else None}


def provision_history(services: Services, subject: str) -> list[dict[str, Any]]:
    tz = services.policy.tz
    with services.databases.main.connect() as conn:
        rows = conn.execute(
            select(provisions).where(provisions.c.subject == subject).order_by(provisions.c.id)
        ).mappings()
        return [
            {
                "recipient": r["recipient"],
                "recipient_name": services.policy.recipient(r["recipient"]).name.to_dict()
                if r["recipient"] in {x.id for x in services.policy.recipients}
                else None,
                "relationship": _relationship(services, r["recipient"]),
                "items": r["items"].split(","),
                "provided_at": r["provided_at"].astimezone(tz).isoformat(),
                "retention": r["retention"],
                "until": r["expires_at"].astimezone(tz).isoformat(),
            }
            for r in rows
        ]


def _relationship(services: Services, recipient: str) -> str | None:
    found = services.policy.find_recipient(recipient)
    return None if found is None else found.relationship
