"""Objections (이의제기) to a refusal, a limited answer or a postponement: every such
notice tells the member how to object (PIPA §35-§37; decree §41④, §44②), and the
officer decides with a recorded result. Upheld, the request is carried out at once
(a limited access answer is released in full); dismissed, the reason is recorded.
The member is told both when the objection is received and when it is decided.

One objection is open at a time per request; the member objects on the request's
page (signed in), the officer registers a written or emailed one."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from ..errors import InvalidRequest, NotFound
from ..storage.tables import objections as objections_table
from ..storage.tables import requests as requests_table
from .outbox import enqueue, wake
from .records import get_request, load_request
from .requests import CHANNELS, complete_request

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..services import Services

__all__ = ["DECISIONS", "decide_objection", "object_to_request"]

DECISIONS = ("upheld", "dismissed")
MAX_TEXT = 2000


def _objected_to(req: dict[str, Any]) -> dict[str, Any] | None:
    """The decision a member may object to, or None if there is none."""
    result = json.loads(req["result"]) if req["result"] else {}
    if req["status"] == "refused" or (req["status"] == "completed" and req["refusal_ground"]):
        withheld = result.get("withheld", [])
        return {"ground": req["refusal_ground"], "reason": req["refusal_reason"], "withheld": withheld}
    if req["status"] == "registered" and req["postponed_at"] is not None:
        return {"postponed_until": req["due_at"].isoformat(), "reason": req["postponed_reason"]}
    return None


def _open_objection(conn: Connection, request_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(objections_table).where(
                objections_table.c.request_id == request_id, objections_table.c.status == "open"
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _text_problem(name: str, value: Any, what: str) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return [f"{name}: {what}"]
    if len(value) > MAX_TEXT:
        return [f"{name}: at most {MAX_TEXT} characters"]
    return []


def object_to_request(
    services: Services,
    request_id: str,
    *,
    statement: Any,
    channel: Any,
    registered_by: str | None = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """Register an objection to the request's refusal, limitation or postponement.
    ``subject`` (the signed-in member) must be the request's own: anything else is
    :class:`NotFound`. Raises :class:`InvalidRequest` listing every problem."""
    req = load_request(services, request_id)
    if subject is not None and req["subject"] != subject:
        raise NotFound(f"no request {request_id!r}")
    problems = _text_problem("statement", statement, "say what the member objects to")
    if not isinstance(channel, str) or channel not in CHANNELS:
        problems.append(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    objected = _objected_to(req)
    if objected is None:
        problems.append(
            f"request {request_id} is {req['status']}: only a refusal, a limited answer or a postponement "
            "can be objected to"
        )
    with services.databases.main.connect() as conn:
        if _open_objection(conn, request_id) is not None:
            problems.append(f"request {request_id} has an objection waiting for the officer's decision")
    if problems:
        raise InvalidRequest("; ".join(problems))
    assert isinstance(statement, str)
    assert isinstance(channel, str)
    with services.databases.main.begin() as conn:
        conn.execute(
            insert(objections_table).values(
                id=uuid.uuid4().hex,
                request_id=request_id,
                received_at=services.now(),
                channel=channel,
                statement=statement.strip(),
                objected_to=json.dumps(objected, ensure_ascii=False),
                registered_by=registered_by[:191] if registered_by else None,
                status="open",
            )
        )
    _tell(services, req, "objection_registered")
    return get_request(services, request_id)


def decide_objection(
    services: Services, request_id: str, *, decision: Any, reason: Any, officer: str | None = None
) -> dict[str, Any]:
    """Decide the request's open objection: ``upheld`` carries the request out now
    (releases a limited access answer in full), ``dismissed`` leaves it as decided.
    The reason is recorded and sent to the member."""
    req = load_request(services, request_id)
    problems = _text_problem("reason", reason, "the reason for the decision, which the member receives")
    if decision not in DECISIONS:
        problems.append(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    with services.databases.main.connect() as conn:
        open_one = _open_objection(conn, request_id)
    if open_one is None:
        problems.append(f"request {request_id} has no objection waiting for a decision")
    if problems:
        raise InvalidRequest("; ".join(problems))
    assert open_one is not None
    assert isinstance(reason, str)
    now = services.now()
    with services.databases.main.begin() as conn:
        decided = conn.execute(
            update(objections_table)
            .where(objections_table.c.id == open_one["id"], objections_table.c.status == "open")
            .values(
                status=decision,
                decided_at=now,
                decided_by=officer[:191] if officer else None,
                decision_reason=reason.strip(),
            )
        ).rowcount
    if not decided:  # another officer decided it in the meantime
        raise InvalidRequest(f"request {request_id} has no objection waiting for a decision")
    _tell(services, req, "objection_decided")
    if decision == "dismissed":
        return get_request(services, request_id)
    if req["status"] == "completed":  # a limited access answer: release the withheld parts
        result = json.loads(req["result"]) if req["result"] else {}
        result.pop("withheld", None)
        with services.databases.main.begin() as conn:
            conn.execute(
                update(requests_table)
                .where(requests_table.c.id == request_id)
                .values(refusal_ground=None, refusal_reason=None, result=json.dumps(result, ensure_ascii=False))
            )
        _tell(services, req, "access_ready")
        return get_request(services, request_id)
    if req["status"] == "refused":  # reopened, then carried out as if never refused
        with services.databases.main.begin() as conn:
            conn.execute(
                update(requests_table)
                .where(requests_table.c.id == request_id, requests_table.c.status == "refused")
                .values(
                    status="registered",
                    refusal_ground=None,
                    refusal_reason=None,
                    completed_at=None,
                    due_at=now,
                    notify_to=services.subject_email(req["subject"]),
                )
            )
    return complete_request(services, request_id, officer=officer)


def _tell(services: Services, req: dict[str, Any], kind: str) -> None:
    """Notices about an objection go to the member's address on file (a refused or
    limited request's own address was destroyed once its answer was sent)."""
    to = req["notify_to"] or services.subject_email(req["subject"])
    if to:
        enqueue(services, kind, recipient=to, request_id=req["id"])
        wake(services)
