"""Rate limits shared by every worker and host: fixed-window counters in the main
database, keyed by a keyed hash (never the address or IP itself).

Used for the withdrawal-link route, so that nobody can have the site mail a member
fifty times a second, or probe addresses at speed. The main database is the one
store every process of every host already shares, so no extra service is needed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import RateLimited
from ..services import Services
from ..storage.crypto import subject_ref
from ..storage.tables import rate_limits

__all__ = ["Limit", "hit"]

Limit = tuple[int, int]  # (at most this many, per this many seconds)


def hit(services: Services, key: str, limit: Limit) -> None:
    """Count one use of ``key``; :class:`RateLimited` once the window's limit is passed."""
    most, seconds = limit
    now = services.now()
    start = now - timedelta(seconds=now.timestamp() % seconds)  # the window this instant falls in
    ends = start + timedelta(seconds=seconds)
    ref = subject_ref(services.hash_key, f"rate\x1f{key}")
    table = rate_limits
    main = services.databases.main
    with main.begin() as conn:
        conn.execute(delete(table).where(table.c.expires_at <= now))  # spent windows: the table stays tiny
        counted = conn.execute(update(table).where(table.c.key == ref).values(count=table.c.count + 1)).rowcount
    if not counted:
        try:
            with main.begin() as conn:
                conn.execute(insert(table).values(key=ref, window_start=start, count=1, expires_at=ends))
        except IntegrityError:  # another worker opened the window first: count on it
            with main.begin() as conn:
                conn.execute(update(table).where(table.c.key == ref).values(count=table.c.count + 1))
    with main.connect() as conn:
        used = conn.execute(select(table.c.count).where(table.c.key == ref)).scalar_one_or_none() or 0
    if used > most:
        raise RateLimited(f"too many requests; try again in {int((ends - now).total_seconds()) + 1} s")
