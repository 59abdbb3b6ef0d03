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
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidRequest, NotFound
from ..storage.tables import objections as objections_table
from ..storage.tables import requests as requests_table
from .correction import correction_problems, value_problems
from .outbox import tell
from .partial import item_problems
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
    try:
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
                    open_key=request_id,  # unique: a second open objection fails here
                )
            )
    except IntegrityError:  # another one was registered since the check above
        raise InvalidRequest(f"request {request_id}: an objection is already open") from None
    _tell(services, req, "objection_registered")
    return get_request(services, request_id)


def decide_objection(
    services: Services,
    request_id: str,
    *,
    decision: Any,
    reason: Any,
    officer: str | None = None,
    values: Any = None,
    by_hand: bool = False,
) -> dict[str, Any]:
    """Decide the request's open objection: ``upheld`` carries the request out now
    (releases a limited access answer in full), ``dismissed`` leaves it as decided.
    The reason is recorded and sent to the member. Upholding an objection to a
    refused correction takes its new ``values`` (or ``by_hand``), as completing does.

    Everything is checked before anything is written; the decision and the reopening
    of the request commit together, then the request is carried out. Run again on an
    upheld objection whose request is still open (a crash, a source that failed), it
    carries the request out."""
    req = load_request(services, request_id)
    problems = _text_problem("reason", reason, "the reason for the decision, which the member receives")
    if decision not in DECISIONS:
        problems.append(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    with services.databases.main.connect() as conn:
        open_one = _open_objection(conn, request_id)
        last = _last_objection(conn, request_id)
    rerun = open_one is None and last is not None and last["status"] == "upheld" and req["status"] == "registered"
    if open_one is None and not rerun:
        problems.append(f"request {request_id} has no objection waiting for a decision")
    elif rerun and decision != "upheld":
        problems.append(f"request {request_id}: its objection was upheld; the request can only be carried out")
    problems += _carry_out_problems(services, req, decision == "upheld", values, by_hand)
    if problems:
        raise InvalidRequest("; ".join(problems))
    assert isinstance(reason, str)
    if open_one is not None:
        with services.databases.main.begin() as conn:
            decided = conn.execute(
                update(objections_table)
                .where(objections_table.c.id == open_one["id"], objections_table.c.status == "open")
                .values(
                    status=decision,
                    open_key=None,
                    decided_at=services.now(),
                    decided_by=officer[:191] if officer else None,
                    decision_reason=reason.strip(),
                )
            ).rowcount
            if not decided:  # another officer decided it in the meantime: roll back
                raise InvalidRequest(f"request {request_id} has no objection waiting for a decision")
            if decision == "upheld":
                _reopen(services, conn, req)
    if decision == "upheld" and req["status"] == "completed":  # the limited answer was released
        _tell(services, req, "access_ready")
    elif decision == "upheld":
        complete_request(services, request_id, officer=officer, values=values or None, by_hand=by_hand)
    _tell(services, req, "objection_decided")
    return get_request(services, request_id)


def _last_objection(conn: Connection, request_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(objections_table)
            .where(objections_table.c.request_id == request_id, objections_table.c.status != "open")
            .order_by(objections_table.c.decided_at.desc())
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _carry_out_problems(services: Services, req: dict[str, Any], upheld: bool, values: Any, by_hand: bool) -> list[str]:
    """What would stop an upheld objection's request from being carried out, checked
    before the decision is written (a correction's new values, or by hand)."""
    if values is not None and not isinstance(values, dict):
        return ['values: expected {"<item id>": "<new value>", ...}']
    given = bool(values) or bool(by_hand)
    carried_out = upheld and req["status"] in ("refused", "registered")
    if not carried_out or req["kind"] != "correct":
        if given:
            return ["values: only upholding an objection to a refused correction takes new values (or by hand)"]
        if carried_out and req["kind"] == "delete" and req["scope"] == "items":
            return item_problems(services, "delete", req["items"].split(","))
        return []
    items = req["items"].split(",")
    if by_hand:
        return ["values: give the new values, or complete it by hand, not both"] if values else []
    return correction_problems(services, items) + value_problems(services, req["subject"], items, values or {})


def _reopen(services: Services, conn: Connection, req: dict[str, Any]) -> None:
    """In the decision's transaction: a refused request is registered again (carried
    out next, as if never refused); a limited access answer is released in full."""
    if req["status"] == "completed":
        result = json.loads(req["result"]) if req["result"] else {}
        result.pop("withheld", None)
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == req["id"])
            .values(refusal_ground=None, refusal_reason=None, result=json.dumps(result, ensure_ascii=False))
        )
    elif req["status"] == "refused":
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == req["id"], requests_table.c.status == "refused")
            .values(
                status="registered",
                refusal_ground=None,
                refusal_reason=None,
                completed_at=None,
                due_at=services.now(),
                notify_to=services.subject_email(req["subject"]),
            )
        )


def _tell(services: Services, req: dict[str, Any], kind: str) -> None:
    """Notices about an objection go to the member's address on file (a refused or
    limited request's own address was destroyed once its answer was sent)."""
    to = req["notify_to"] or services.subject_email(req["subject"])
    if to:
        tell(services, kind, recipient=to, request_id=req["id"])
