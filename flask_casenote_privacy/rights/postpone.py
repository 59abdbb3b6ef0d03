"""Postponing an access request (열람 연기): PIPA §35③ lets the processor postpone
access for a just reason, telling the member the reason; decree §41④ has the
postponement notified within the 10 days the answer is due in, and once the reason
is gone access is granted without delay (the officer completes the request then;
표준 개인정보 보호지침 §31①: within 10 days of the reason ending).

The notice gives the reason, the new date and how to object."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse
from sqlalchemy import update

from ..errors import InvalidRequest
from ..storage.tables import requests as requests_table
from .records import get_request, load_request
from .requests import notify

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["parse_until", "postpone_request"]

MAX_REASON = 2000


def parse_until(services: Services, value: Any) -> datetime | None:
    """The new due date: an aware datetime, an ISO-8601 instant, or a date (the end
    of that day in the policy's time zone). None when it is none of these."""
    tz = services.policy.tz
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = isoparse(text)
    except (ValueError, OverflowError):
        return None
    if len(text) == 10:  # YYYY-MM-DD: the member may wait until the end of that day
        return datetime.combine(parsed.date(), time(23, 59, 59), tzinfo=tz)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def postpone_request(
    services: Services, request_id: str, *, until: Any, reason: Any, officer: str | None = None
) -> dict[str, Any]:
    """Postpone a registered access request to ``until`` for ``reason``; the member is
    told at once. Raises :class:`InvalidRequest` listing every problem, changing nothing."""
    req = load_request(services, request_id)
    now = services.now()
    problems = []
    if req["kind"] != "access":
        problems.append(f"only an access request can be postponed (PIPA Art. 35(3)); this is a {req['kind']} request")
    if req["status"] != "registered":
        problems.append(f"request {request_id} is already {req['status']}")
    elif req["due_at"] < now:
        problems.append(
            "the postponement must be notified before the answer is due (decree Art. 41(4)); it was due "
            + req["due_at"].astimezone(services.policy.tz).isoformat()
        )
    if not isinstance(reason, str) or not reason.strip():
        problems.append("reason: the just reason the member is told (PIPA Art. 35(3))")
    elif len(reason) > MAX_REASON:
        problems.append(f"reason: at most {MAX_REASON} characters")
    new_due = parse_until(services, until)
    if new_due is None:
        problems.append(f"until: {until!r} is not a date (YYYY-MM-DD) or an ISO-8601 date-time")
    elif new_due <= max(req["due_at"], now):
        problems.append(
            "until: the new date must be after the current due date "
            + req["due_at"].astimezone(services.policy.tz).isoformat()
        )
    if problems:
        raise InvalidRequest("; ".join(problems))
    assert isinstance(reason, str)
    assert new_due is not None
    with services.databases.main.begin() as conn:
        postponed = conn.execute(
            update(requests_table)
            .where(requests_table.c.id == request_id, requests_table.c.status == "registered")
            .values(
                due_at=new_due,
                first_due_at=req["first_due_at"] or req["due_at"],
                postponed_at=now,
                postponed_reason=reason.strip(),
            )
        ).rowcount
    if not postponed:  # completed or refused in the meantime
        raise InvalidRequest(f"request {request_id} is no longer registered")
    notify(services, request_id, "access_postponed")
    return get_request(services, request_id)
