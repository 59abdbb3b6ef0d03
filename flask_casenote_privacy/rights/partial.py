"""Partial rights: deleting named items without leaving (PIPA §36①), and suspending
named purposes (PIPA §37①), made no harder than signing up (PIPA §38④).

An item the member gave at sign-up and the policy marks optional (``required``
false) can be deleted on its own. A required one cannot: without it there is no
membership, so deleting it means leaving (a withdrawal). Nor can an item that a
law makes the controller keep (a source with a retention class): §36① proviso.

A purpose that rests on consent is suspended by withdrawing that consent; one that
rests on contract, law or legitimate interest by a processing stop the officer
decides (§37②). Once completed, the stop is a ledger event ("stop" channel) that
capture honours for that member (``consent.suspended``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..consent import ledger_grants, record_consent, suspended
from ..errors import InvalidRequest
from ..retention.erasure import erase_items_for_request
from ..sources import ModelSource
from ..storage.tables import access_log
from .correction import apply_correction, correction_problems

if TYPE_CHECKING:
    from ..services import Services

__all__ = [
    "carry_out_items",
    "deletable_items",
    "deletion_problems",
    "erase_items",
    "erase_items_only_for",
    "item_problems",
    "suspend_purposes",
]


def deletable_items(services: Services) -> list[str]:
    """Items a member can delete without leaving: optional, given at sign-up, held
    by a source, and no source holding them is kept under a law."""
    found = []
    for item in services.policy.items:
        if item.collection != "signup" or not item.stored or item.required:
            continue
        holders = [s for s in services.sources.values() if item.id in s.items]
        if holders and all(s.retention is None for s in holders):
            found.append(item.id)
    return found


def deletion_problems(services: Services, items: list[str]) -> list[str]:
    """Every reason ``items`` cannot be deleted on their own, with what to do instead."""
    policy = services.policy
    deletable = deletable_items(services)
    problems = []
    if not items:
        problems.append(f"items: name at least one item to delete ({', '.join(deletable) or 'none can be'})")
    for item_id in items:
        item = next((i for i in policy.items if i.id == item_id), None)
        if item is None:
            problems.append(f"items: unknown item {item_id!r}")
        elif item.required:
            problems.append(
                f"items: {item_id!r} is required for membership; deleting it means leaving "
                'the membership (a withdrawal: {"scope": "all"})'
            )
        elif item.collection != "signup" or not item.stored:
            problems.append(
                f"items: {item_id!r} is not something the member gave at sign-up; only those can be deleted on "
                f"their own ({', '.join(deletable) or 'none can be'})"
            )
        elif item_id not in deletable:
            kept = [s.retention for s in services.sources.values() if item_id in s.items and s.retention]
            why = f"a law makes us keep it ({', '.join(sorted(set(kept)))})" if kept else "no source holds it"
            problems.append(f"items: {item_id!r} cannot be deleted on its own: {why}")
        else:
            for source in services.sources.values():
                if isinstance(source, ModelSource) and item_id in source.items:
                    column = source.columns[source.items[item_id]]
                    if not column.nullable:
                        problems.append(
                            f"items: {item_id!r} is in {source.label}.{column.key}, which cannot be empty (NOT NULL)"
                        )
    return problems


def item_problems(services: Services, kind: str, items: list[str]) -> list[str]:
    """What is wrong with the items of a ``correct`` or ``delete`` request."""
    if not all(isinstance(i, str) for i in items):
        return ["items: expected item ids (text)"]
    if len(set(items)) != len(items):
        return ["items: an item is named twice"]
    if kind == "correct":
        return correction_problems(services, items, to_carry_out=False)
    if kind == "delete":
        return deletion_problems(services, items)
    return [f"items: a {kind} request names no items"]


def carry_out_items(
    services: Services, req: Mapping[str, Any], values: Mapping[str, object], by_hand: bool = False
) -> dict[str, Any]:
    """Carry out a ``correct`` request, or a ``delete`` request naming items (``req``
    as stored); the result names the items, never a value."""
    items = req["items"].split(",")
    if req["kind"] == "correct":
        corrected = apply_correction(services, req, items, values, by_hand)
        return {"corrected_items": corrected, **({"by_hand": True} if by_hand else {})}
    if by_hand:
        raise InvalidRequest("by hand: only a correction is completed by hand")
    return {"erased_items": erase_items(services, req["subject"], req["id"], items, values)}


def erase_items(
    services: Services, subject: str, request_id: str, items: list[str], values: object = None
) -> list[str]:
    """Check, then empty the fields of ``items`` in every source holding them, through
    the one erasure path (a ledger row per source, run = ``request_id``); return the
    items erased. :class:`InvalidRequest` listing every problem, nothing erased."""
    problems = item_problems(services, "delete", items) + (["values: a deletion takes no values"] if values else [])
    if problems:
        raise InvalidRequest("; ".join(problems))
    erase_items_for_request(services, subject, request_id, items)
    return list(items)


def erase_items_only_for(services: Services, subject: str, purposes: list[str], request_id: str) -> set[str]:
    """Erase the data collected only for ``purposes`` (consent withdrawn, a processing
    stop): items no other active purpose uses, in the host's sources and the access
    log, through the one erasure path (ledger rows under run ``request_id``)."""
    policy = services.policy
    ledger = ledger_grants(services.databases.main, subject)
    granted = {g.purpose for g in ledger if g.granted}
    still_active = ((services.no_consent_purposes - suspended(ledger, services.no_consent_purposes)) | granted) - set(
        purposes
    )
    still_used = services.items_of(frozenset(still_active))
    items = {i for pid in purposes for i in policy.purpose(pid).items} - still_used
    columns = {field for field, item in services.field_items.items() if item in items}
    columns &= {c.name for c in access_log.columns} - {"id", "event_id", "subject"}
    erase_items_for_request(services, subject, request_id, sorted(items), log_fields=columns)
    return items


def suspend_purposes(services: Services, subject: str, purposes: list[str]) -> list[str]:
    """Record the suspension of the ``purposes`` that need no consent (a completed
    processing stop, PIPA §37①); consent-based ones are withdrawn by the caller.
    Returns the purposes newly suspended (none twice on a re-run)."""
    no_consent = services.no_consent_purposes
    already = suspended(ledger_grants(services.databases.main, subject), no_consent)
    new = sorted(p for p in purposes if p in no_consent and p not in already)
    record_consent(
        services.databases.main,
        services.policy,
        subject,
        dict.fromkeys(new, False),
        channel="stop",
        now=services.now(),
    )
    return new
