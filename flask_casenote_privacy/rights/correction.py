"""Correction (정정, PIPA §36①, 시행령 §43): the member's own data, item by item,
in every registered source that holds it.

Only items the member gave (``collection = "signup"`` in the policy) and some
source maps can be corrected; usage records are what happened, not claims to
correct. Every value is checked against every source before anything is written,
and a source without a ``correct`` method is named: the officer then corrects it
by hand. Neither the old nor the new value is stored or logged, only which items
were corrected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from ..addresses import normal_address
from ..errors import InvalidRequest
from ..storage.tables import requests as requests_table

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["apply_correction", "correctable_items", "correction_problems", "value_problems"]

MOST_CHARACTERS = 320  # the longest value anyone types into a sign-up field (an email address)


def correctable_items(services: Services) -> dict[str, list[str]]:
    """Item id -> names of the sources holding it, for every item the member gave
    at sign-up that a registered source maps (in the policy's order)."""
    found: dict[str, list[str]] = {}
    for item in services.policy.items:
        if item.collection != "signup" or not item.stored:
            continue
        names = [name for name, source in services.sources.items() if item.id in source.items]
        if names:
            found[item.id] = names
    return found


def correction_problems(services: Services, items: list[str], *, to_carry_out: bool = True) -> list[str]:
    """What is wrong with asking to correct ``items`` (no values yet: an officer may
    register a written request before the new values are at hand). With
    ``to_carry_out`` false (the officer's intake) a source without ``correct()`` is
    no problem yet: the officer may correct it by hand and complete ``by_hand``."""
    correctable = correctable_items(services)
    problems = []
    if not items:
        problems.append(f"items: name at least one item to correct ({', '.join(correctable) or 'none can be'})")
    for item in items:
        if item not in correctable:
            problems.append(
                f"items: {item!r} cannot be corrected here; correctable: {', '.join(correctable) or 'none'}"
            )
            continue
        lacking = [name for name in correctable[item] if not callable(getattr(services.sources[name], "correct", None))]
        if lacking and to_carry_out:
            problems.append(
                f"items: {item!r} is held by {', '.join(lacking)}, which cannot correct data (no correct() method); "
                "correct it there by hand, then complete the request by hand (--by-hand)"
            )
    return problems


def value_problems(services: Services, subject: str, items: list[str], values: Mapping[str, object]) -> list[str]:
    """Every problem with the new ``values`` for ``items`` of ``subject`` (an identity)."""
    problems = []
    missing = [i for i in items if i not in values]
    if missing:
        problems.append(f"values: give the new value of {', '.join(missing)}")
    strays = [str(i) for i in values if i not in items]
    if strays:
        problems.append(f"values: {', '.join(strays)} not among the request's items ({', '.join(items)})")
    for item in items:
        value = values.get(item)
        if item not in values:
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{item}: the new value must be non-empty text")
            continue
        value = value.strip()
        if len(value) > MOST_CHARACTERS or any(ord(c) < 32 or ord(c) == 127 for c in value):
            problems.append(f"{item}: at most {MOST_CHARACTERS} printable characters")
            continue
        if item == "email":
            problems.extend(_address_problems(services, subject, value))
        for name in correctable_items(services).get(item, []):
            check = getattr(services.sources[name], "value_problems", None)
            if callable(check):
                problems.extend(check(item, value))
    return problems


def _address_problems(services: Services, subject: str, value: str) -> list[str]:
    if any(c.isspace() for c in value) or normal_address(value) is None or "." not in value.rpartition("@")[2]:
        return ["email: a valid email address is required"]
    host = services.host_of(subject)
    for source in services.sources.values():
        # The source's own lookup, by its database's collation: the one its unique
        # index (if any) would refuse the update by.
        if "email" in source.items and any(other != host for other in source.find("email", value)):
            return ["email: another member has that address"]
    return []


def apply_correction(
    services: Services, req: Mapping[str, Any], items: list[str], values: Mapping[str, object], by_hand: bool = False
) -> list[str]:
    """Check, then write the new values into every source holding each item of the
    request ``req`` (as stored). Raises :class:`InvalidRequest` listing every
    problem, and then writes nothing. Returns the items corrected.

    ``by_hand``: the officer has corrected the data themselves (a source that
    cannot, or a system outside the app); nothing is written, no values are taken."""
    subject = req["subject"]
    if by_hand:
        if values:
            raise InvalidRequest("values: give the new values, or complete it by hand, not both")
        return list(items)
    problems = correction_problems(services, items) + value_problems(services, subject, items, values)
    if problems:
        raise InvalidRequest("; ".join(problems))
    host = services.host_of(subject)
    correctable = correctable_items(services)
    for item in items:
        value = str(values[item]).strip()
        for name in correctable[item]:
            services.sources[name].correct(host, item, value)  # type: ignore[attr-defined]
    if "email" in items:
        # The answer goes to the address now on record: the corrected one.
        with services.databases.main.begin() as conn:
            conn.execute(
                update(requests_table)
                .where(requests_table.c.id == req["id"])
                .values(notify_to=services.subject_email(subject))
            )
    return list(items)
