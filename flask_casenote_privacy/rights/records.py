"""Reading data-subject requests: one request as stored, its public view (no
address), and the list the officer works through, overdue first."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ..errors import NotFound
from ..services import Services
from ..storage.tables import requests as requests_table

__all__ = ["get_request", "list_requests", "load_request", "public_view"]


def load_request(services: Services, request_id: str) -> dict[str, Any]:
    with services.databases.main.connect() as conn:
        row = conn.execute(select(requests_table).where(requests_table.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound(f"no request {request_id!r}")
    return dict(row)


def get_request(services: Services, request_id: str) -> dict[str, Any]:
    """The public view of a request (no address)."""
    return public_view(services, load_request(services, request_id))


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
