"""Refusing a request on the grounds the law gives its kind (policy/grounds.py):
a processing stop on PIPA §37②; an access request on §35④ only, in whole or for the
affected part; a deletion never at will: §36①'s proviso keeps what another law names,
which the deletion moves to the archive while it erases the rest, and the member is
told what is kept, why and until when. A withdrawal is carried out at once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from ..storage.tables import requests as requests_table

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["limit_access", "refusal_problems", "withhold", "withholdable_parts"]


def withholdable_parts(services: Services) -> dict[str, str]:
    """What an access answer may withhold, by id: the policy's items and the registered
    sources (a source's records as a whole), with a label for the officer's form."""
    parts = {item.id: item.label.get("ko") for item in services.policy.items}
    parts.update({f"source:{name}": name for name in services.sources})
    return parts


def refusal_problems(services: Services, req: dict[str, Any], ground: Any, withheld: list[Any] | None) -> list[str]:
    """Everything wrong with refusing ``req`` on ``ground`` (withholding ``withheld`` only)."""
    kind = req["kind"]
    problems = []
    if kind == "withdraw":
        return ["a withdraw request cannot be refused; consent can be withdrawn at any time"]
    if kind == "delete":
        kept = ", ".join(g.id for g in services.policy.grounds_for("delete")) or "none declared"
        return [
            "a delete request is not refused (PIPA Art. 36(1)): complete it; what another law names "
            f"({kept}) is kept in the archive and the member is told what, why and until when"
        ]
    grounds = [g.id for g in services.policy.grounds_for(kind)]
    if ground not in grounds:
        listed = ", ".join(grounds) or "the policy declares none"
        problems.append(f"ground: {ground!r} is not one of the policy's grounds to refuse a {kind} request ({listed})")
    if withheld:
        if kind != "access":
            problems.append("withheld: only an access request can be limited to a part")
        else:
            parts = withholdable_parts(services)
            unknown = [w for w in withheld if not isinstance(w, str) or w not in parts]
            if unknown:
                problems.append(
                    f"withheld: {', '.join(map(repr, unknown))} is no item or source (one of {', '.join(parts)})"
                )
    return problems


def limit_access(
    services: Services, req: dict[str, Any], *, ground: str, reason: str, withheld: list[str], officer: str | None
) -> None:
    """Answer an access request with the ``withheld`` parts left out (PIPA §35④: limit to
    the affected part): the request is completed, and its ground, reason and withheld
    parts recorded for the member's notice and any objection."""
    stored = json.loads(req["result"]) if req["result"] else {}
    result = {**stored, "export": "available to the signed-in member", "withheld": sorted(set(withheld))}
    with services.databases.main.begin() as conn:
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == req["id"])
            .values(
                status="completed",
                refusal_ground=ground,
                refusal_reason=reason,
                completed_at=services.now(),
                result=json.dumps(result, ensure_ascii=False),
                decided_by=officer[:191] if officer else None,
            )
        )


def withhold(services: Services, data: dict[str, Any]) -> dict[str, Any]:
    """The member's own export (``GET /privacy/export``) without the parts an access
    answer withheld (PIPA §35④): a withheld item's column leaves every record and the
    access log, a withheld source leaves whole. An upheld objection releases them.
    The officer's export is never filtered: the officer decides on all of it."""
    parts = {
        part
        for req in data.get("requests", [])
        if req["kind"] == "access" and req["status"] == "completed"
        for part in req.get("withheld") or []
    }
    if not parts:
        return data
    sources = {}
    for name, source in data["sources"].items():
        if f"source:{name}" in parts:
            continue
        columns = {column for item, column in source["items"].items() if item in parts}
        records = [{k: v for k, v in record.items() if k not in columns} for record in source["records"]]
        sources[name] = {**source, "records": records}
    fields = {field for field, item in services.field_items.items() if item in parts}
    return {
        **data,
        "sources": sources,
        "access_log": [{k: v for k, v in row.items() if k not in fields} for row in data["access_log"]],
        "archived_records": [r for r in data["archived_records"] if f"source:{r.get('source')}" not in parts],
        "withheld": sorted(parts),
    }
