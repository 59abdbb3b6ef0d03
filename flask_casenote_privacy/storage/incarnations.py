"""Incarnations of a subject id: the host may give a departed member's id to someone
new (an SQLite ``INTEGER PRIMARY KEY`` does, as can any sequence after a restore).

Every record the extension keeps about a subject is keyed by the subject's
*identity*: for the first member with a host id, the id itself ("41"); once that
member has withdrawn, the next one with the id is a new identity ("41#2-3fa9c1d2",
the random tail so that it can never equal some other host id). Consents, requests,
access-log rows, provisions, archived records and withdrawal links of a departed
identity therefore never attach to the next member with the same id.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from .tables import subject_incarnations as table

__all__ = ["end_incarnation", "host_of", "identity_of", "is_departed", "latest_identity"]


def identity_of(engine: Engine, host_id: str, now: datetime) -> str:
    """The identity of the member who has ``host_id`` now (a new incarnation starts
    when the last one ended)."""
    with engine.connect() as conn:
        latest = conn.execute(
            select(table.c.identity, table.c.incarnation, table.c.ended_at)
            .where(table.c.host_id == host_id)
            .order_by(table.c.incarnation.desc())
            .limit(1)
        ).first()
    if latest is None:
        return host_id  # the first incarnation needs no row until it ends
    if latest.ended_at is None:
        return str(latest.identity)
    incarnation = int(latest.incarnation) + 1
    identity = f"{host_id}#{incarnation}-{secrets.token_hex(4)}"
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(table).values(identity=identity, host_id=host_id, incarnation=incarnation, started_at=now)
            )
    except IntegrityError:  # another request started it first: use theirs
        return identity_of(engine, host_id, now)
    return identity


def latest_identity(engine: Engine, host_id: str) -> str:
    """The identity of whoever has or last had ``host_id``, starting none (for looking
    up a member who may have left: an officer's export)."""
    with engine.connect() as conn:
        latest = conn.execute(
            select(table.c.identity).where(table.c.host_id == host_id).order_by(table.c.incarnation.desc()).limit(1)
        ).scalar_one_or_none()
    return host_id if latest is None else str(latest)


def host_of(engine: Engine, identity: str) -> str:
    """The host's id for ``identity`` (what the host's data sources are keyed by)."""
    with engine.connect() as conn:
        host = conn.execute(select(table.c.host_id).where(table.c.identity == identity)).scalar_one_or_none()
    return identity if host is None else str(host)


def end_incarnation(engine: Engine, identity: str, now: datetime) -> None:
    """The member ``identity`` has left: the next member with the same host id is new."""
    with engine.begin() as conn:
        ended = conn.execute(
            update(table).where(table.c.identity == identity, table.c.ended_at.is_(None)).values(ended_at=now)
        ).rowcount
        exists = ended or conn.execute(select(table.c.identity).where(table.c.identity == identity)).first()
        if not exists:  # a first incarnation: its row is made as it ends
            conn.execute(
                insert(table).values(identity=identity, host_id=identity, incarnation=1, started_at=None, ended_at=now)
            )


def is_departed(engine: Engine, identity: str) -> bool:
    """Whether the member ``identity`` has withdrawn (their links are void)."""
    with engine.connect() as conn:
        ended = conn.execute(select(table.c.ended_at).where(table.c.identity == identity)).first()
    return ended is not None and ended[0] is not None
