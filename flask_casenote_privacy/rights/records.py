"""Reading data-subject requests: one request as stored, its public view (no
address), and the list the officer works through, overdue first."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ..errors import NotFound
from ..services import Services
from ..storage.tables import objections as objections_table
from ..storage.tables import requests as requests_table

__all__ = ["get_request", "list_requests", "load_request", "objections_of", "public_view"]


def load_request(services: Services, request_id: str) -> dict[str, Any]:
    with services.databases.main.connect() as conn:
        row = conn.execute(select(requests_table).where(requests_table.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound(f"no request {request_id!r}")
    return dict(row)


def get_request(services: Services, request_id: str) -> dict[str, Any]:
    """The public view of a request (no address), with its objections."""
    view = public_view(services, load_request(services, request_id))
    view["objections"] = objections_of(services, request_id)
    return view


def objections_of(services: Services, request_id: str) -> list[dict[str, Any]]:
    """A request's objections (이의제기), oldest first, with their decisions."""
    with services.databases.main.connect() as conn:
        rows = conn.execute(
            select(objections_table)
            .where(objections_table.c.request_id == request_id)
            .order_by(objections_table.c.received_at, objections_table.c.id)
        ).mappings()
        return [_objection_view(services, dict(r)) for r in rows]


def _objection_view(services: Services, row: dict[str, Any]) -> dict[str, Any]:
    local = services.policy.tz
    return {
        "id": row["id"],
        "received_at": row["received_at"].astimezone(local).isoformat(),
        "channel": row["channel"],
        "statement": row["statement"],
        "objected_to": json.loads(row["objected_to"]),
        "registered_by": row["registered_by"],
        "status": row["status"],
        "decided_at": row["decided_at"].astimezone(local).isoformat() if row["decided_at"] else None,
        "decided_by": row["decided_by"],
        "decision_reason": row["decision_reason"],
    }


def public_view(services: Services, row: dict[str, Any]) -> dict[str, Any]:
    now = services.now()
    result = json.loads(row["result"]) if row["result"] else {}
    local = services.policy.tz
    return {
        "request_id": row["id"],
        "id": row["id"],
        "subject": row["subject"],
        "kind": row["kind"],
        "scope": row["scope"],
        "purposes": row["purposes"].split(",") if row["purposes"] else [],
        # A correction's or partial deletion's items (PIPA §36): ids, never values.
        "items": row["items"].split(",") if row.get("items") else [],
        "channel": row["channel"],
        "status": row["status"],
        "received_at": row["received_at"].astimezone(local).isoformat(),
        "due_at": row["due_at"].astimezone(local).isoformat(),
        "completed_at": row["completed_at"].astimezone(local).isoformat() if row["completed_at"] else None,
        "overdue": row["status"] == "registered" and row["due_at"] < now,
        "registered_by": row["registered_by"],
        "decided_by": row["decided_by"],
        "refusal": {"ground": row["refusal_ground"], "reason": row["refusal_reason"]}
        if row["status"] == "refused"
        else None,
        # An access request answered in part (PIPA §35④): what was left out, and why.
        "withheld": result.get("withheld", []),
        "limitation": {"ground": row["refusal_ground"], "reason": row["refusal_reason"]}
        if row["status"] == "completed" and row["refusal_ground"]
        else None,
        # Who asked and how the officer knew (PIPA §38, decree §45-§46).
        "identity_check": row.get("identity_check"),
        "requester": row.get("requester"),
        "agent_reference": row.get("agent_reference"),
        "postponement": {
            "reason": row["postponed_reason"],
            "postponed_at": row["postponed_at"].astimezone(local).isoformat(),
            "first_due_at": row["first_due_at"].astimezone(local).isoformat() if row["first_due_at"] else None,
            "until": row["due_at"].astimezone(local).isoformat(),
        }
        if row.get("postponed_at")
        else None,
        # False: nothing was held about the subject (None: registered before this was recorded).
        "found": result.get("found"),
        "retained": result.get("retained", []),
        **{key: result[key] for key in ("erased_items", "corrected_items", "by_hand", "suspended") if key in result},
    }


def list_requests(services: Services, subject: str | None = None) -> list[dict[str, Any]]:
    """Requests, overdue first, then open ones by due date, then the rest, newest first."""
    query = select(requests_table)
    if subject is not None:
        query = query.where(requests_table.c.subject == subject)
    with services.databases.main.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    views = [public_view(services, r) for r in rows]
    by_id = {r["id"]: r for r in rows}

    def order(view: dict[str, Any]) -> tuple[int, float]:
        row = by_id[view["id"]]
        if view["overdue"]:
            return (0, row["due_at"].timestamp())
        if view["status"] == "registered":
            return (1, row["due_at"].timestamp())
        return (2, -row["received_at"].timestamp())

    return sorted(views, key=order)
