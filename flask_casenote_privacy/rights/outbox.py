"""The mail outbox: every notice to a member is a row in the main database first,
then sent by the mail thread (and by ``flask privacy outbox send`` or the worker),
retried with backoff until its window ends. Registering and executing a request
never waits for SMTP, and a request's answer takes the same time whoever asked.

An address lives here only until its mail is sent or its window ends; either way
it is destroyed and the destruction ledger counts it. Rows are claimed before
sending, so two processes never send the same notice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from ..periods import add_period
from ..retention.ledger import write_ledger
from ..retention.mail_addresses import ADDRESS_CLASS, expire_mail_addresses
from ..retention.report import Run
from ..services import Services
from ..storage.engines import checkpoint_wal
from ..storage.tables import outbox
from .notifications import link_notice, request_notice
from .policy_notice import POLICY_CHANGE, policy_change_notice
from .records import load_request, public_view

__all__ = ["LINK_LOOKUP", "Delivery", "deliver_due", "enqueue", "tell", "undelivered", "wake"]

# A withdrawal link asked for with a typed address: who it belongs to is looked up
# when the mail is sent, so that asking takes the same time for members and others.
LINK_LOOKUP = "withdraw_link_lookup"
CLAIM = timedelta(minutes=5)  # a claimed row not sent by then (a crash) is tried again
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    failed: int = 0  # left for a later try
    expired: int = 0  # window over: address destroyed, notice undelivered
    dropped: int = 0  # a link asked for an address no member has: typed address destroyed


def enqueue(
    services: Services,
    kind: str,
    *,
    recipient: str,
    request_id: str | None = None,
    conn: Connection | None = None,
) -> None:
    """Put one notice in the outbox (in ``conn``'s transaction when given)."""
    now = services.now()
    row = {
        "kind": kind,
        "request_id": request_id,
        "recipient": recipient,
        "status": "pending",
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": now,
        "expires_at": add_period(now, services.settings.mail_retry_window, services.policy.tz),
    }
    if conn is not None:
        conn.execute(insert(outbox).values(row))
        return
    with services.databases.main.begin() as own:
        own.execute(insert(outbox).values(row))


def wake(services: Services) -> None:
    """Have the mail thread send what is due (returns at once)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def job() -> None:
        with app.app_context():
            deliver_due(services)

    services.mailer.run_soon(job)


def tell(services: Services, kind: str, *, recipient: str, request_id: str | None = None) -> None:
    """One notice on its own: into the outbox in its own transaction, then the mail
    thread woken. (:func:`enqueue` with ``conn`` + one :func:`wake` for a batch.)"""
    enqueue(services, kind, recipient=recipient, request_id=request_id)
    wake(services)


def deliver_due(services: Services, *, now: datetime | None = None, limit: int = 500) -> Delivery:
    """Send every notice that is due; expire those whose window is over."""
    now = now or services.now()
    run = Run(uuid.uuid4().hex, now, "mail")  # one ledger row per outcome for the whole delivery
    result = Delivery(expired=expire_mail_addresses(services, run))
    for row in _claim(services, now, limit):
        try:
            message = _render(services, row)
            if message is None:
                _finish(services, row, run, "dropped")
                result.dropped += 1
                continue
            to, title, body = message
            services.mailer.send(to, title, body, kind=row["kind"])
        except Exception as exc:  # SMTP down, refused, a timeout: try again later
            _retry(services, row, now, type(exc).__name__)
            result.failed += 1
        else:
            _finish(services, row, run, "sent")
            result.sent += 1
    if result.sent or result.dropped or result.expired:
        checkpoint_wal(services.databases.main)  # no address left behind in SQLite's -wal file
    return result


def _claim(services: Services, now: datetime, limit: int) -> list[dict[str, Any]]:
    due = and_(
        outbox.c.status == "pending",
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    )
    with services.databases.main.connect() as conn:
        ids = conn.execute(select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)).scalars().all()
    claimed = []
    for row_id in ids:
        with services.databases.main.begin() as conn:
            got = conn.execute(
                update(outbox).where(outbox.c.id == row_id, due).values(claimed_until=now + CLAIM)
            ).rowcount
            if got:
                row = conn.execute(select(outbox).where(outbox.c.id == row_id)).mappings().one()
                claimed.append(dict(row))
    return claimed


def _render(services: Services, row: dict[str, Any]) -> tuple[str, str, str] | None:
    """(to, subject, body), or None for a link asked for an address of nobody."""
    if row["kind"] == LINK_LOOKUP:
        found = services.find_member(row["recipient"])
        if found is None:
            return None
        identity, stored = found  # mail the address the host holds, never the one typed
        return (stored, *link_notice(services, identity))
    if row["kind"] == POLICY_CHANGE:
        return (row["recipient"], *policy_change_notice(services, row["request_id"]))
    request = load_request(services, row["request_id"])
    return (row["recipient"], *request_notice(services, row["kind"], request, public_view(services, request)))


def _retry(services: Services, row: dict[str, Any], now: datetime, error: str) -> None:
    attempts = int(row["attempts"]) + 1
    wait = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
    with services.databases.main.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row["id"])
            .values(attempts=attempts, next_attempt_at=now + wait, claimed_until=None, last_error=error[:64])
        )


_METHODS = {
    "sent": "address deleted once the notice was sent",
    "dropped": "typed address deleted: no member has it",
}


def _finish(services: Services, row: dict[str, Any], run: Run, outcome: str) -> None:
    """Sent, or dropped: the row and its address go, and the ledger counts it."""
    with services.databases.main.begin() as conn:
        if conn.execute(delete(outbox).where(outbox.c.id == row["id"])).rowcount:
            write_ledger(conn, services, run, ADDRESS_CLASS, f"outbox:{outcome}", 1, _METHODS[outcome])


def undelivered(services: Services) -> list[dict[str, Any]]:
    """Notices not delivered yet or never (for the officer's page): no addresses."""
    tz = services.policy.tz
    query = select(outbox).where(or_(outbox.c.status == "expired", outbox.c.attempts > 0)).order_by(outbox.c.id)
    with services.databases.main.connect() as conn:
        rows = conn.execute(query).mappings().all()
        pending = conn.execute(select(func.count()).where(outbox.c.status == "pending")).scalar_one()
    return [
        {
            "kind": r["kind"],
            "request_id": r["request_id"],
            "status": r["status"],
            "attempts": r["attempts"],
            "last_error": r["last_error"],
            "created_at": r["created_at"].astimezone(tz).isoformat(),
            "next_attempt_at": r["next_attempt_at"].astimezone(tz).isoformat() if r["status"] == "pending" else None,
            "pending_total": int(pending),
        }
        for r in rows
    ]
