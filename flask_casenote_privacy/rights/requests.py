"""Data-subject requests: register, execute, complete, refuse, notify.

A consent withdrawal is registered and executed at once (policy section 6);
access, deletion and processing-stop requests are due ``PRIVACY_REQUEST_DEADLINE``
(10 days) after receipt and are completed or refused by the officer. Views and
CLI commands call these functions, so the web and the shell never disagree.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from werkzeug.exceptions import NotFound

from ..consent import ledger_grants, record_consent
from ..errors import InvalidRequest
from ..mail import render_notification
from ..periods import add_period
from ..retention.archiving import archive_subject, retained_summary
from ..retention.ledger import PurgeReport, write_ledger
from ..retention.tombstones import add_subject_tombstone
from ..storage.tables import access_log, destructions
from ..storage.tables import requests as requests_table

if TYPE_CHECKING:
    from ..extension import Privacy

__all__ = [
    "CHANNELS",
    "KINDS",
    "complete_request",
    "execute_request",
    "get_request",
    "list_requests",
    "refuse_request",
    "register_request",
]

KINDS = ("withdraw", "stop", "access", "delete")
CHANNELS = ("web", "email", "written")
REFUSABLE = ("stop", "delete", "access")
_KIND_TEXT = {
    "withdraw": ("동의철회", "consent withdrawal"),
    "stop": ("처리정지", "processing stop"),
    "access": ("열람", "access"),
    "delete": ("삭제", "deletion"),
}


class RequestNotFound(NotFound):
    def __init__(self, request_id: str) -> None:
        super().__init__(description=f"no request {request_id!r}")


# -- registering ---------------------------------------------------------------------
def register_request(
    privacy: Privacy,
    *,
    subject: str,
    kind: str,
    channel: str,
    scope: str | None = None,
    purposes: list[str] | None = None,
    registered_by: str | None = None,
) -> dict[str, Any]:
    """Register a request at once; a withdrawal is also executed at once.

    Raises :class:`InvalidRequest` listing every problem, and then changes nothing.
    """
    policy = privacy.policy
    purposes = list(purposes or [])
    problems = []
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 191:
        problems.append("subject: a subject id of 1 to 191 characters is required")
    if kind not in KINDS:
        problems.append(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if channel not in CHANNELS:
        problems.append(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if scope not in (None, "all"):
        problems.append(f"scope: {scope!r} is not 'all' (name purposes to withdraw only those)")
    if scope == "all" and purposes:
        problems.append("give either scope 'all' or purposes, not both")
    if kind in ("withdraw", "stop") and scope is None and not purposes:
        problems.append("scope: give 'all' (leave membership) or at least one purpose")
    if kind in ("access", "delete") and purposes:
        problems.append(f"purposes: a {kind} request covers all the subject's data; give no purposes")
    for pid in purposes:
        try:
            purpose = policy.purpose(pid)
        except KeyError:
            problems.append(f"purposes: unknown purpose {pid!r}")
            continue
        if kind == "withdraw" and not purpose.needs_consent:
            problems.append(
                f"purposes: {pid!r} rests on {purpose.basis}, not consent; ask for a processing stop instead"
            )
    if problems:
        raise InvalidRequest("; ".join(problems))

    now = privacy.now()
    due = now if kind == "withdraw" else add_period(now, privacy.request_deadline, policy.tz)
    request_id = uuid.uuid4().hex
    row = {
        "id": request_id,
        "subject": subject,
        "kind": kind,
        "scope": "purposes" if purposes else "all",
        "purposes": ",".join(purposes) or None,
        "channel": channel,
        "status": "registered",
        "received_at": now,
        "due_at": due,
        "registered_by": registered_by,
        "notify_to": privacy.subject_email(subject),
    }
    with privacy.databases.main.begin() as conn:
        conn.execute(insert(requests_table).values(row))
    if kind == "withdraw":
        notify(privacy, request_id, "withdrawal_registered")
        return execute_request(privacy, request_id)
    return get_request(privacy, request_id)


# -- executing -----------------------------------------------------------------------
def execute_request(privacy: Privacy, request_id: str) -> dict[str, Any]:
    """Carry out a withdrawal/stop/deletion; safe to run again after a crash."""
    req = _load(privacy, request_id)
    if req["status"] == "completed":
        return req
    if req["status"] == "refused":
        raise InvalidRequest(f"request {request_id} was refused; it cannot be executed")
    subject = req["subject"]
    privacy.flush(timeout=30)  # the subject's access events in flight count too
    if req["scope"] == "all":
        _withdraw_consents(privacy, subject, None, req["channel"])
        archive_subject(privacy, subject, privacy.sources, request_id)
        # Only after the archive committed: erase the host's rows, dependants first.
        held = {name: source.export(subject) for name, source in privacy.sources.items()}
        add_subject_tombstone(privacy, subject, held)  # before erasing: a crash must not lose it
        for name, source in reversed(list(privacy.sources.items())):
            _ledger_erasure(privacy, request_id, name, subject)
            source.erase(subject)
        result: dict[str, Any] = {"retained": retained_summary(privacy, subject)}
    else:
        purposes = req["purposes"].split(",")
        _withdraw_consents(privacy, subject, purposes, req["channel"])
        erased_items = _erase_items_only_for(privacy, subject, purposes)
        result = {"retained": retained_summary(privacy, subject), "erased_items": sorted(erased_items)}
    _finish(privacy, request_id, "completed", result)
    notify(privacy, request_id, "withdrawal_completed" if req["kind"] != "access" else "access_ready")
    return get_request(privacy, request_id)


def _ledger_erasure(privacy: Privacy, request_id: str, name: str, subject: str) -> None:
    """Put a source's erasure in the destruction ledger (run id = the request id) just
    before it happens: the officer's one record of everything destroyed, by purge or
    by request. Written once per (request, source): a re-run after a crash between
    this line and the erase finds it and does not count the same rows again."""
    source = privacy.sources[name]
    retention = "membership" if source.retention is None else source.retention
    target = f"host:{name}"
    with privacy.databases.main.begin() as conn:
        exists = conn.execute(
            select(destructions.c.id).where(
                destructions.c.run_id == request_id,
                destructions.c.retention == retention,
                destructions.c.target == target,
            )
        ).first()
        if exists:
            return
        count = len(source.export(subject))
        if not count:
            return
        if source.retention is None:
            method = f"deleted from the host's {name} on withdrawal (request {request_id[:8]})"
        else:
            method = f"moved to the archive encrypted, host rows deleted (request {request_id[:8]})"
        report = PurgeReport(run_id=request_id, now=privacy.now(), dry_run=False)
        write_ledger(conn, privacy, report, retention, target, count, method, "withdrawal")


def _withdraw_consents(privacy: Privacy, subject: str, purposes: list[str] | None, channel: str) -> None:
    """Ledger events for the consents still granted (none twice on a re-run)."""
    policy = privacy.policy
    wanted = {p.id for p in policy.consent_purposes if purposes is None or p.id in purposes}
    latest = {g.purpose: g.granted for g in ledger_grants(privacy.databases.main, subject)}
    choices = {pid: False for pid in sorted(wanted) if latest.get(pid, True)}
    record_consent(privacy.databases.main, policy, subject, choices, channel="withdrawal", now=privacy.now())


def _erase_items_only_for(privacy: Privacy, subject: str, purposes: list[str]) -> set[str]:
    """Erase the data collected only for ``purposes``: items no other active purpose uses."""
    policy = privacy.policy
    granted = {g.purpose for g in ledger_grants(privacy.databases.main, subject) if g.granted}
    still_active = (privacy.no_consent_purposes | granted) - set(purposes)
    still_used = privacy.items_of(frozenset(still_active))
    items = {i for pid in purposes for i in policy.purpose(pid).items} - still_used
    columns = {field for field, item in privacy.field_items.items() if item in items}
    columns &= {c.name for c in access_log.columns} - {"id", "event_id", "subject"}
    if columns:
        with privacy.databases.main.begin() as conn:
            conn.execute(update(access_log).where(access_log.c.subject == subject).values({c: None for c in columns}))
    for source in privacy.sources.values():
        source.erase(subject, items=items)
    return items


# -- the officer's decisions ---------------------------------------------------------
def complete_request(privacy: Privacy, request_id: str, officer: str | None = None) -> dict[str, Any]:
    req = _load(privacy, request_id)
    if req["status"] != "registered":
        raise InvalidRequest(f"request {request_id} is already {req['status']}")
    if req["kind"] == "access":
        _finish(privacy, request_id, "completed", {"export": "available to the signed-in member"})
        notify(privacy, request_id, "access_ready")
        return get_request(privacy, request_id)
    return execute_request(privacy, request_id)


def refuse_request(
    privacy: Privacy, request_id: str, *, ground: str, reason: str, officer: str | None = None
) -> dict[str, Any]:
    """Refuse on one of the policy's refusal grounds; nothing is erased."""
    req = _load(privacy, request_id)
    problems = []
    grounds = [g.id for g in privacy.policy.refusal_grounds]
    if ground not in grounds:
        problems.append(f"ground: {ground!r} is not one of the policy's refusal grounds ({', '.join(grounds)})")
    if not isinstance(reason, str) or not reason.strip():
        problems.append("reason: explain the refusal to the member")
    if req["status"] != "registered":
        problems.append(f"request {request_id} is already {req['status']}")
    elif req["kind"] not in REFUSABLE:
        problems.append(f"a {req['kind']} request cannot be refused; consent can be withdrawn at any time")
    if problems:
        raise InvalidRequest("; ".join(problems))
    with privacy.databases.main.begin() as conn:
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == request_id)
            .values(
                status="refused",
                refusal_ground=ground,
                refusal_reason=reason.strip(),
                completed_at=privacy.now(),
            )
        )
    notify(privacy, request_id, "request_refused")
    return get_request(privacy, request_id)


def _finish(privacy: Privacy, request_id: str, status: str, result: dict[str, Any]) -> None:
    with privacy.databases.main.begin() as conn:
        conn.execute(
            update(requests_table)
            .where(requests_table.c.id == request_id)
            .values(status=status, completed_at=privacy.now(), result=json.dumps(result, ensure_ascii=False))
        )


# -- reading -------------------------------------------------------------------------
def _load(privacy: Privacy, request_id: str) -> dict[str, Any]:
    with privacy.databases.main.connect() as conn:
        row = conn.execute(select(requests_table).where(requests_table.c.id == request_id)).mappings().first()
    if row is None:
        raise RequestNotFound(request_id)
    return dict(row)


def get_request(privacy: Privacy, request_id: str) -> dict[str, Any]:
    """The public view of a request (no address)."""
    return _public(privacy, _load(privacy, request_id))


def _public(privacy: Privacy, row: dict[str, Any]) -> dict[str, Any]:
    now = privacy.now()
    result = json.loads(row["result"]) if row["result"] else {}
    local = privacy.policy.tz
    return {
        "request_id": row["id"],
        "id": row["id"],
        "subject": row["subject"],
        "kind": row["kind"],
        "scope": row["scope"],
        "purposes": row["purposes"].split(",") if row["purposes"] else [],
        "channel": row["channel"],
        "status": row["status"],
        "received_at": row["received_at"].astimezone(local).isoformat(),
        "due_at": row["due_at"].astimezone(local).isoformat(),
        "completed_at": row["completed_at"].astimezone(local).isoformat() if row["completed_at"] else None,
        "overdue": row["status"] == "registered" and row["due_at"] < now,
        "registered_by": row["registered_by"],
        "refusal": {"ground": row["refusal_ground"], "reason": row["refusal_reason"]}
        if row["status"] == "refused"
        else None,
        "retained": result.get("retained", []),
        **({"erased_items": result["erased_items"]} if "erased_items" in result else {}),
    }


def list_requests(privacy: Privacy, subject: str | None = None) -> list[dict[str, Any]]:
    """Requests, overdue first, then open ones by due date, then the rest, newest first."""
    query = select(requests_table)
    if subject is not None:
        query = query.where(requests_table.c.subject == subject)
    with privacy.databases.main.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    views = [_public(privacy, r) for r in rows]
    by_id = {r["id"]: r for r in rows}

    def order(view: dict[str, Any]) -> tuple[int, float]:
        row = by_id[view["id"]]
        if view["overdue"]:
            return (0, row["due_at"].timestamp())
        if view["status"] == "registered":
            return (1, row["due_at"].timestamp())
        return (2, -row["received_at"].timestamp())

    return sorted(views, key=order)


# -- notifications -------------------------------------------------------------------
def notify(privacy: Privacy, request_id: str, kind: str) -> None:
    """Tell the member; the address is cleared once a request is finished."""
    row = _load(privacy, request_id)
    to = row["notify_to"] or (privacy.subject_email(row["subject"]) if row["status"] != "completed" else None)
    if to:
        subject, body = render_notification(kind, **_mail_context(privacy, row))
        privacy.mailer.send(to, subject, body, kind=kind)
    if row["status"] in ("completed", "refused") and row["notify_to"]:
        with privacy.databases.main.begin() as conn:
            conn.execute(update(requests_table).where(requests_table.c.id == request_id).values(notify_to=None))


def _mail_context(privacy: Privacy, row: dict[str, Any]) -> dict[str, Any]:
    from flask import url_for

    policy = privacy.policy
    view = _public(privacy, row)
    ko, en = _KIND_TEXT[row["kind"]]
    scope_ko = (
        "회원탈퇴" if row["scope"] == "all" else ", ".join(policy.purpose(p).label.get("ko") for p in view["purposes"])
    )
    scope_en = (
        "leaving membership"
        if row["scope"] == "all"
        else ", ".join(policy.purpose(p).label.get("en") for p in view["purposes"])
    )
    ground = policy.refusal_ground(row["refusal_ground"]) if row["refusal_ground"] else None
    try:
        export_url = url_for("privacy.export", _external=True)
    except RuntimeError:
        export_url = f"{privacy.settings.url_prefix}/export"
    return {
        "request_id": row["id"],
        "controller_ko": policy.controller.name.get("ko"),
        "controller_en": policy.controller.name.get("en"),
        "officer": policy.officer,
        "received_local": view["received_at"],
        "scope_ko": scope_ko,
        "scope_en": scope_en,
        "kind_ko": ko,
        "kind_en": en,
        "retained": view["retained"],
        "ground": ground.text.to_dict() if ground else {},
        "statute_ko": ground.statute.get("ko") if ground and ground.statute else "",
        "statute_en": ground.statute.get("en") if ground and ground.statute else "",
        "reason": row["refusal_reason"],
        "export_url": export_url,
    }
