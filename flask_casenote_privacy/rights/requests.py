"""Data-subject requests: register, execute, complete, refuse, notify (the
withdrawal link asked for by email: rights/links.py).

A consent withdrawal is registered and executed at once (policy section 6);
access, correction, deletion and processing-stop requests are due
``PRIVACY_REQUEST_DEADLINE`` (10 days) after receipt and are completed or refused
by the officer (a member's own correction or deletion of optional items is carried
out at once: rights/self_service.py). Views and
CLI commands call these functions, so the web and the shell never disagree.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import insert, update

from ..consent import ledger_grants, record_consent
from ..errors import InvalidRequest
from ..periods import add_period
from ..retention.archiving import retained_summary
from ..retention.erasure import erase_for_request
from ..signals import member_withdrawn, send_safely
from ..storage.tables import requests as requests_table
from .export import holds_anything
from .grounds import limit_access, refusal_problems
from .identity import Identity
from .notifications import completed_notice
from .outbox import enqueue, tell, wake
from .partial import carry_out_items, erase_items_only_for, item_problems, suspend_purposes
from .records import get_request, load_request

if TYPE_CHECKING:
    from ..services import Services

__all__ = [
    "CHANNELS",
    "KINDS",
    "complete_request",
    "execute_request",
    "notify",
    "refuse_request",
    "register_request",
    "valid_subject",
]

KINDS = ("withdraw", "stop", "access", "delete", "correct")
CHANNELS = ("web", "email", "written")


# -- registering ---------------------------------------------------------------------
def register_request(
    services: Services,
    *,
    subject: str,
    kind: str,
    channel: str,
    scope: str | None = None,
    purposes: list[str] | None = None,
    registered_by: str | None = None,
    identity: Identity | None = None,
    items: list[str] | None = None,
) -> dict[str, Any]:
    """Register a request at once; a withdrawal is also executed at once. ``identity``:
    how the officer's intake checked who asked (rights/identity.py).

    ``items`` names what a ``correct`` request corrects, or a ``delete`` request
    deletes without the member leaving (PIPA §36); never their values.

    Raises :class:`InvalidRequest` listing every problem, and then changes nothing.
    """
    policy = services.policy
    purposes = list(purposes or [])
    items = list(items or []) if isinstance(items, (list, tuple)) or items is None else items
    problems = []
    if not _is_text(subject, 191):
        problems.append("subject: a subject id of 1 to 191 printable characters is required")
    if not isinstance(kind, str) or kind not in KINDS:
        problems.append(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(channel, str) or channel not in CHANNELS:
        problems.append(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if scope not in (None, "all"):
        problems.append(f"scope: {scope!r} is not 'all' (name purposes to withdraw only those)")
    if scope == "all" and purposes:
        problems.append("give either scope 'all' or purposes, not both")
    if kind in ("withdraw", "stop") and scope is None and not purposes:
        problems.append("scope: give 'all' (leave membership) or at least one purpose")
    if kind in ("access", "delete", "correct") and purposes:
        problems.append(f"purposes: a {kind} request covers all the subject's data; give no purposes")
    if not isinstance(items, list):
        problems.append("items: expected a list of item ids")
    elif items or kind == "correct":
        if scope is not None:
            problems.append("give either scope 'all' or items, not both")
        problems.extend(item_problems(services, kind, items))
    if not all(isinstance(pid, str) for pid in purposes):
        problems.append("purposes: expected purpose ids (text)")
        purposes = []
    for pid in purposes:
        purpose = policy.find_purpose(pid)
        if purpose is None:
            problems.append(f"purposes: unknown purpose {pid!r}")
            continue
        if kind == "withdraw" and not purpose.needs_consent:
            problems.append(
                f"purposes: {pid!r} rests on {purpose.basis}, not consent; ask for a processing stop instead"
            )
    if identity is not None:
        problems += identity.problems()
    if not problems and services.is_departed(subject):
        problems.append(f"subject: {subject!r} has left; their data was erased when they withdrew")
    if problems:
        raise InvalidRequest("; ".join(problems))

    now = services.now()
    due = now if kind == "withdraw" else add_period(now, services.request_deadline, policy.tz)
    request_id = uuid.uuid4().hex
    row = {
        "id": request_id,
        "subject": subject,
        "kind": kind,
        "scope": "items" if items else "purposes" if purposes else "all",
        "purposes": ",".join(purposes) or None,
        "items": ",".join(items or []) or None,
        "channel": channel,
        "status": "registered",
        "received_at": now,
        "due_at": due,
        "registered_by": registered_by,
        "notify_to": services.subject_email(subject),
        # What the officer's intake found: a request for an id nobody has is still
        # recorded (and can be refused or completed), but says that nothing was found.
        "result": json.dumps({"found": holds_anything(services, subject)}),
        **(identity.columns() if identity is not None else {}),
    }
    with services.databases.main.begin() as conn:
        conn.execute(insert(requests_table).values(row))
    if kind == "withdraw":
        notify(services, request_id, "withdrawal_registered")
        return execute_request(services, request_id)
    return get_request(services, request_id)


def _is_text(value: object, most: int) -> bool:
    """Text an officer or member may give as an id: 1 to ``most`` characters, none
    of them a control character (a NUL would be cut or refused by some databases)."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value) <= most
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    )


# -- executing -----------------------------------------------------------------------
def execute_request(
    services: Services,
    request_id: str,
    *,
    decided_by: str | None = None,
    values: dict[str, Any] | None = None,
    by_hand: bool = False,
) -> dict[str, Any]:
    """Carry out a withdrawal/stop/deletion/correction; safe to run again after a crash.

    ``decided_by`` is the officer who completed the request, if one did; ``values``
    the new values of a correction (used, never stored)."""
    req = load_request(services, request_id)
    if req["status"] == "completed":
        return req
    if req["status"] == "refused":
        raise InvalidRequest(f"request {request_id} was refused; it cannot be executed")
    if req["scope"] == "items":
        return _execute_items(services, req, values or {}, decided_by, by_hand)
    subject = req["subject"]
    services.flush(timeout=30)  # the subject's access events in flight count too
    found = _record_found(services, req)
    if req["scope"] == "all":
        _withdraw_consents(services, subject, None, req["channel"])
        erase_for_request(services, subject, request_id)
        # The member has left: whoever the host gives this id next is someone new.
        services.end_incarnation(subject)
        result: dict[str, Any] = {"found": found, "retained": retained_summary(services, subject)}
    else:
        purposes = req["purposes"].split(",")
        _withdraw_consents(services, subject, purposes, req["channel"])
        stopped = suspend_purposes(services, subject, purposes) if req["kind"] == "stop" else []
        erased_items = erase_items_only_for(services, subject, purposes, request_id)
        result = {
            "found": found,
            "retained": retained_summary(services, subject),
            "erased_items": sorted(erased_items),
            **({"suspended": stopped} if stopped else {}),
        }
    _finish(services, request_id, "completed", result, decided_by)
    notify(services, request_id, completed_notice(req["kind"]))
    if req["scope"] == "all":
        # Last: the host's receivers (sign the member out) see a completed request.
        send_safely(
            member_withdrawn,
            current_app._get_current_object(),  # type: ignore[attr-defined]
            subject=services.host_of(subject),
            identity=subject,
            request_id=request_id,
        )
    return get_request(services, request_id)


def _execute_items(
    services: Services, req: dict[str, Any], values: dict[str, Any], decided_by: str | None, by_hand: bool
) -> dict[str, Any]:
    """A correction, or a deletion of named items (PIPA §36): checked in full first,
    so that a bad value changes nothing; the result names the items, not values."""
    changes_email = req["kind"] == "correct" and "email" in (req["items"] or "").split(",")
    previous = services.subject_email(req["subject"]) if changes_email else None
    result = {"found": _record_found(services, req), **carry_out_items(services, req, values, by_hand)}
    _finish(services, req["id"], "completed", result, decided_by)
    notify(services, req["id"], "items_completed")
    if previous and previous != services.subject_email(req["subject"]):
        # The address on record changed: the old one is told too, so that a session in
        # the wrong hands cannot move the account's mail away unnoticed.
        tell(services, "items_completed", recipient=previous, request_id=req["id"])
    return get_request(services, req["id"])


def _record_found(services: Services, req: dict[str, Any]) -> bool:
    """Whether anything was held about the request's subject, at its registration or
    now, before anything is erased. Stored before erasing: a run again after a crash
    must not read "nothing found" in what the first run erased."""
    stored = json.loads(req["result"]) if req["result"] else {}
    if stored.get("found") is True:
        return True
    found = holds_anything(services, req["subject"])
    if stored.get("found") is not found:
        with services.databases.main.begin() as conn:
            conn.execute(
                update(requests_table)
                .where(requests_table.c.id == req["id"])
                .values(result=json.dumps({**stored, "found": found}))
            )
    return found


def _withdraw_consents(services: Services, subject: str, purposes: list[str] | None, channel: str) -> None:
    """Ledger events for the consents still granted (none twice on a re-run)."""
    policy = services.policy
    wanted = {p.id for p in policy.consent_purposes if purposes is None or p.id in purposes}
    latest = {g.purpose: g.granted for g in ledger_grants(services.databases.main, subject)}
    choices = {pid: False for pid in sorted(wanted) if latest.get(pid, True)}
    record_consent(services.databases.main, policy, subject, choices, channel="withdrawal", now=services.now())


# -- the officer's decisions ---------------------------------------------------------
def complete_request(
    services: Services,
    request_id: str,
    officer: str | None = None,
    *,
    values: dict[str, Any] | None = None,
    by_hand: bool = False,
) -> dict[str, Any]:
    """Carry out a registered request; ``officer`` is recorded as who decided it;
    ``values`` are a correction's new values (from the member's written request)."""
    req = load_request(services, request_id)
    if req["status"] != "registered":
        raise InvalidRequest(f"request {request_id} is already {req['status']}")
    if (values or by_hand) and req["kind"] != "correct":
        raise InvalidRequest(f"values: only a correction takes new values (or by hand), not a {req['kind']} request")
    if req["kind"] == "access":
        result = {"found": _record_found(services, req), "export": "available to the signed-in member"}
        _finish(services, request_id, "completed", result, officer)
        notify(services, request_id, "access_ready")
        return get_request(services, request_id)
    return execute_request(services, request_id, decided_by=officer, values=values, by_hand=by_hand)


def refuse_request(
    services: Services,
    request_id: str,
    *,
    ground: str,
    reason: str,
    officer: str | None = None,
    withheld: list[str] | None = None,
) -> dict[str, Any]:
    """Refuse on one of the policy's grounds for the request's kind (rights/grounds.py);
    nothing is erased. An access request may instead be limited: ``withheld`` names
    the parts left out, the rest is answered. ``officer`` is recorded as who decided it."""
    req = load_request(services, request_id)
    problems = []
    if req["status"] != "registered":
        problems.append(f"request {request_id} is already {req['status']}")
    else:
        problems += refusal_problems(services, req, ground, withheld)
    if not isinstance(reason, str) or not reason.strip():
        problems.append("reason: explain the refusal to the member")
    if problems:
        raise InvalidRequest("; ".join(problems))
    if withheld:
        limit_access(services, req, ground=ground, reason=reason.strip(), withheld=withheld, officer=officer)
        notify(services, request_id, "access_limited")
        return get_request(services, request_id)
    with services.databases.main.begin() as conn:
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == request_id)
            .values(
                status="refused",
                refusal_ground=ground,
                refusal_reason=reason.strip(),
                completed_at=services.now(),
                decided_by=_officer_name(officer),
            )
        )
    notify(services, request_id, "request_refused")
    return get_request(services, request_id)


def _finish(
    services: Services, request_id: str, status: str, result: dict[str, Any], decided_by: str | None = None
) -> None:
    with services.databases.main.begin() as conn:
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == request_id)
            .values(
                status=status,
                completed_at=services.now(),
                result=json.dumps(result, ensure_ascii=False),
                decided_by=_officer_name(decided_by),
            )
        )


def valid_subject(value: object) -> bool:
    """Whether ``value`` can be a subject id (see ``_is_text``)."""
    return _is_text(value, 191)


def _officer_name(officer: str | None) -> str | None:
    """Who decided, cut to the column's 191 characters as the ledger cuts its executor:
    an over-long name must not fail the update after the erasure was carried out."""
    return officer[:191] if officer else None


# -- notifications -------------------------------------------------------------------
def notify(services: Services, request_id: str, kind: str) -> None:
    """Put the notice in the outbox and wake the mail thread. A finished request's
    address moves from its row to the outbox in one transaction; the outbox
    destroys it once the mail is sent or its retry window ends."""
    row = load_request(services, request_id)
    to = row["notify_to"] or (services.subject_email(row["subject"]) if row["status"] != "completed" else None)
    with services.databases.main.begin() as conn:
        if to:
            enqueue(services, kind, recipient=to, request_id=request_id, conn=conn)
        if row["status"] in ("completed", "refused") and row["notify_to"]:
            conn.execute(update(requests_table).where(requests_table.c.id == request_id).values(notify_to=None))
    if to:
        wake(services)
