"""The hash chain of operator access records (접속기록): tamper evidence for
개인정보의 안전성 확보조치 기준 §8 ③ (records kept safe from forgery, alteration,
theft and loss).

Each record holds its position ``seq``, the previous record's hash and
``hash = HMAC-SHA256(key, [prev_hash, seq, operator, accessed_at, ip, subject, task,
reason, expires_at])``: its expiry too, so that a record cannot be backdated into
the purge's reach. The key is derived from ``PRIVACY_HASH_KEY``, so someone who can
edit the database but not read the app's configuration cannot recompute a hash
after changing a record. One head row (``privacy_access_chain``, id 1) holds the
last position and hash, the anchor and a MAC over all of them: the newest records
cannot be cut off, nor the anchor moved past records still kept, without breaking
it. Every append first updates the head, which serializes the appends on every
backend (the row lock on PostgreSQL and MariaDB, the write lock on SQLite): two
writers can never both extend the same record.

The purge destroys only a prefix of expired records whose hashes check out, and
leaves the last destroyed record's hash and expiry, and when it was destroyed, as
the anchor the rest is verified from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from .tables import access_chain, operator_access

__all__ = [
    "ChainCheck",
    "append_record",
    "chain_key",
    "destroy_expired_prefix",
    "head_mac",
    "record_hash",
    "verify_chain",
]

_HEAD = 1


def chain_key(hash_key: bytes) -> bytes:
    """The chain's own key, derived from the app's hash key (one key per purpose)."""
    return hmac.new(hash_key, b"flask-casenote-privacy.operator-access-chain", hashlib.sha256).digest()


def _instant(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(key: bytes, prev_hash: str, seq: int, row: Any) -> str:
    canonical = json.dumps(
        [
            prev_hash,
            int(seq),
            row["operator"],
            _instant(row["accessed_at"]),
            row["ip"],
            row["subject"],
            row["task"],
            row["reason"],
            _instant(row["expires_at"]) if row["expires_at"] is not None else None,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, head: Any) -> str:
    """The head row's MAC: its position and hash, and the anchor the purge left."""
    canonical = json.dumps(
        [
            "head",
            int(head["seq"]),
            head["last_hash"],
            int(head["anchor_seq"]),
            head["anchor_hash"],
            _instant(head["anchor_expires_at"]) if head["anchor_expires_at"] is not None else None,
            _instant(head["purged_at"]) if head["purged_at"] is not None else None,
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def _head_ok(key: bytes, head: Any) -> bool:
    """Whether the head row is as the app left it. The migration's empty head (no
    record written yet) has no MAC: the app cannot sign without its key."""
    if not head["mac"]:
        empty = (int(head["seq"]), int(head["anchor_seq"]), head["last_hash"], head["anchor_hash"], head["purged_at"])
        return empty == (0, 0, "", "", None)
    return hmac.compare_digest(head["mac"], head_mac(key, head))


def _sign_head(conn: Connection, key: bytes, head: Any, **changes: Any) -> None:
    new = {**dict(head), **changes}
    conn.execute(update(access_chain).where(access_chain.c.id == _HEAD).values(**changes, mac=head_mac(key, new)))


def _lock_head(conn: Connection, *, advance: bool) -> Any:
    """Lock the head row (an UPDATE: a row lock, or SQLite's write lock) and read it."""
    bump = access_chain.c.seq + 1 if advance else access_chain.c.seq
    if not conn.execute(update(access_chain).where(access_chain.c.id == _HEAD).values(seq=bump)).rowcount:
        # A database made by ``metadata.create_all`` has no head yet (the migration makes it).
        conn.execute(
            insert(access_chain).values(
                id=_HEAD, seq=1 if advance else 0, last_hash="", anchor_seq=0, anchor_hash="", mac=""
            )
        )
    # A locking read: under MariaDB's REPEATABLE READ a plain SELECT could read an older snapshot.
    return conn.execute(select(access_chain).where(access_chain.c.id == _HEAD).with_for_update()).mappings().one()


def append_record(conn: Connection, key: bytes, values: dict[str, Any]) -> int:
    """Insert one operator access record at the end of the chain (in ``conn``'s
    transaction); returns its position."""
    head = _lock_head(conn, advance=True)
    seq = int(head["seq"])
    digest = record_hash(key, head["last_hash"], seq, values)
    conn.execute(insert(operator_access).values(**values, seq=seq, prev_hash=head["last_hash"], hash=digest))
    _sign_head(conn, key, head, last_hash=digest)
    return seq


@dataclass(frozen=True)
class ChainCheck:
    """What :func:`verify_chain` found: ``ok``, how many records it checked, and the
    first broken link (the record's id and position, and what is wrong)."""

    ok: bool
    checked: int
    anchor_seq: int
    head_seq: int
    broken_id: int | None = None
    broken_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "anchor_seq": self.anchor_seq,
            "head_seq": self.head_seq,
            "broken_id": self.broken_id,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
        }


def verify_chain(conn: Connection, key: bytes) -> ChainCheck:
    """Walk the chain from the anchor to the head; stop at the first broken link."""
    head = conn.execute(select(access_chain).where(access_chain.c.id == _HEAD)).mappings().first()
    anchor_seq, prev = (int(head["anchor_seq"]), head["anchor_hash"]) if head else (0, "")
    head_seq, head_hash = (int(head["seq"]), head["last_hash"]) if head else (0, "")
    expected, checked = anchor_seq + 1, 0

    def broken(row: Any, problem: str) -> ChainCheck:
        return ChainCheck(False, checked, anchor_seq, head_seq, row["id"] if row else None, expected, problem)

    if head is not None and not _head_ok(key, head):
        return broken(None, "the chain's head (its last record or the purge's anchor) was changed outside the app")
    if (
        head is not None
        and anchor_seq
        and (head["anchor_expires_at"] is None or head["anchor_expires_at"] > head["purged_at"])
    ):
        return broken(None, f"record {anchor_seq} was destroyed before it expired")

    rows = conn.execute(
        select(operator_access).where(operator_access.c.seq.is_not(None)).order_by(operator_access.c.seq)
    ).mappings()
    for row in rows:
        if row["seq"] < expected:
            return broken(row, f"record {row['seq']} lies before the anchor ({anchor_seq}): the chain was rewritten")
        if row["seq"] > expected:
            return broken(None, f"record {expected} is missing (the next one is {row['seq']})")
        if row["prev_hash"] != prev:
            return broken(row, f"record {expected} does not follow the record before it")
        if not hmac.compare_digest(row["hash"] or "", record_hash(key, prev, expected, row)):
            return broken(row, f"record {expected} was altered after it was written")
        prev, expected, checked = row["hash"], expected + 1, checked + 1
    if expected - 1 != head_seq or prev != head_hash:
        return broken(None, f"records {expected} to {head_seq} are missing (the chain's head is {head_seq})")
    return ChainCheck(True, checked, anchor_seq, head_seq)


def destroy_expired_prefix(conn: Connection, key: bytes, now: datetime, limit: int) -> int:
    """Delete up to ``limit`` expired records from the start of the chain (and any
    expired record written before the chain), moving the anchor to the last
    destroyed one; in ``conn``'s transaction, with the head locked. A record whose
    hash does not check out (a backdated expiry) and what follows it are kept, as
    is everything under a head that is not the app's: left for ``audit verify``."""
    head = _lock_head(conn, advance=False)
    if not _head_ok(key, head):
        return 0
    t = operator_access
    legacy = select(t.c.id).where(t.c.seq.is_(None), t.c.expires_at <= now).limit(limit)
    ids = [r[0] for r in conn.execute(legacy)]
    count = int(conn.execute(delete(t).where(t.c.id.in_(ids))).rowcount or 0) if ids else 0
    if count:
        return count
    # The chain's records go in order: never one past the first that is still kept.
    kept = conn.execute(select(func.min(t.c.seq)).where(t.c.seq.is_not(None), t.c.expires_at > now)).scalar()
    last = int(head["anchor_seq"]) + limit
    if kept is not None:
        last = min(last, int(kept) - 1)
    last = min(last, int(head["seq"]))
    if last <= int(head["anchor_seq"]):
        return 0
    tail = _last_sound(conn, key, head, last)
    if tail is None:  # a gap or a broken link: leave it for `flask privacy audit verify` to report
        return 0
    count = int(conn.execute(delete(t).where(t.c.seq.is_not(None), t.c.seq <= tail["seq"])).rowcount or 0)
    _sign_head(
        conn,
        key,
        head,
        anchor_seq=tail["seq"],
        anchor_hash=tail["hash"],
        anchor_expires_at=tail["expires_at"],
        purged_at=now,
    )
    return count


def _last_sound(conn: Connection, key: bytes, head: Any, last: int) -> Any:
    """The last record up to ``last`` of an unbroken run from the anchor, or None."""
    t = operator_access
    expected, prev, tail = int(head["anchor_seq"]) + 1, head["anchor_hash"], None
    query = select(t).where(t.c.seq.is_not(None), t.c.seq > int(head["anchor_seq"]), t.c.seq <= last)
    for row in conn.execute(query.order_by(t.c.seq)).mappings():
        if row["seq"] != expected or row["prev_hash"] != prev:
            break
        if not hmac.compare_digest(row["hash"] or "", record_hash(key, prev, expected, row)):
            break
        tail, prev, expected = row, row["hash"], expected + 1
    return tail
