"""Addresses waiting in the mail outbox are destroyed once their retry window ends,
by the delivery runs and by the purge alike (nothing left over past its time)."""

from __future__ import annotations

from sqlalchemy import and_, update

from ..services import Services
from ..storage.tables import outbox
from .ledger import write_ledger
from .report import Run

__all__ = ["ADDRESS_CLASS", "expire_mail_addresses"]

ADDRESS_CLASS = "mail_address"


def expire_mail_addresses(services: Services, run: Run) -> int:
    """Notices whose retry window is over at ``run.now``: the address is destroyed
    (and ledgered); the row stays, without it, so the officer sees what was never
    delivered. Returns how many addresses were destroyed."""
    over = and_(outbox.c.status == "pending", outbox.c.expires_at <= run.now)
    with services.databases.main.begin() as conn:
        count = int(conn.execute(update(outbox).where(over).values(status="expired", recipient=None)).rowcount or 0)
        if count:
            method = "address deleted: retry window over, notice undelivered"
            write_ledger(conn, services, run, ADDRESS_CLASS, "outbox:expired", count, method)
    return count
