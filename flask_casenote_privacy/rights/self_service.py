"""What a signed-in member does for themselves, each in one step (PIPA §38④: no
harder than signing up): correct their data (§36), delete optional items without
leaving (§36), suspend named purposes (§37). Each is a request like any other,
registered and then carried out at once, except a processing stop of a purpose
that needs no consent, which the officer decides within the deadline (§37②).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest
from .correction import correction_problems, value_problems
from .requests import execute_request, register_request

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["correct_own", "delete_own_items", "stop_own_purposes"]


def correct_own(services: Services, subject: str, values: object) -> dict[str, Any]:
    """Correct the member's own items, ``{"item id": "new value", ...}``: registered
    (the items only) and carried out at once. Every problem is found first."""
    if not isinstance(values, Mapping) or not values:
        raise InvalidRequest('values: expected {"<item id>": "<new value>", ...} with at least one item')
    order = {item.id: n for n, item in enumerate(services.policy.items)}
    items = sorted((str(item) for item in values), key=lambda i: (order.get(i, len(order)), i))  # the policy's order
    problems = correction_problems(services, items)
    if not problems:
        problems = value_problems(services, subject, items, values)
    if problems:
        raise InvalidRequest("; ".join(problems))
    req = register_request(services, subject=subject, kind="correct", channel="web", items=items)
    return execute_request(services, req["id"], values=dict(values))


def delete_own_items(services: Services, subject: str, items: object) -> dict[str, Any]:
    """Delete optional items without leaving: registered and carried out at once."""
    if not isinstance(items, list) or not items:
        raise InvalidRequest('items: expected ["<item id>", ...] with at least one item')
    req = register_request(services, subject=subject, kind="delete", channel="web", items=items)
    return execute_request(services, req["id"])


def stop_own_purposes(services: Services, subject: str, purposes: object) -> list[dict[str, Any]]:
    """Suspend named purposes: the consent-based ones are withdrawn at once (a
    ``withdraw`` request); the others become one ``stop`` request the officer
    decides (PIPA §37②). Nothing is registered if any purpose is unknown."""
    if not isinstance(purposes, list) or not purposes or not all(isinstance(p, str) for p in purposes):
        raise InvalidRequest('purposes: expected ["<purpose id>", ...] with at least one purpose')
    policy = services.policy
    unknown = [p for p in purposes if policy.find_purpose(p) is None]
    if unknown:
        raise InvalidRequest("; ".join(f"purposes: unknown purpose {p!r}" for p in unknown))
    consent = [p for p in dict.fromkeys(purposes) if policy.purpose(p).needs_consent]
    others = [p for p in dict.fromkeys(purposes) if not policy.purpose(p).needs_consent]
    done = []
    if others:
        done.append(register_request(services, subject=subject, kind="stop", channel="web", purposes=others))
    if consent:
        done.append(register_request(services, subject=subject, kind="withdraw", channel="web", purposes=consent))
    return done
