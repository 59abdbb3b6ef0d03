"""Per-subject encryption of archived records (AES-256-GCM from ``cryptography``)
and keyed hashes that name a subject without revealing them.

Keys live in the main database; ciphertext in the archive. Deleting a key
(crypto-shredding) makes every copy of that subject's archived data unreadable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .tables import subject_keys

__all__ = ["decrypt", "encrypt", "get_key", "get_or_create_key", "subject_ref"]


def subject_ref(secret: bytes, subject: str) -> str:
    """HMAC-SHA256 of a subject id: stable, but useless without the secret."""
    return hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()


def get_key(conn: Connection, subject: str) -> bytes | None:
    key = conn.execute(select(subject_keys.c.key).where(subject_keys.c.subject == subject)).scalar()
    return None if key is None else bytes(key)


def get_or_create_key(conn: Connection, subject: str, now: datetime, ref: str | None = None) -> bytes:
    """The subject's key, made on first use (race-safe: a concurrent insert wins)."""
    key = get_key(conn, subject)
    if key is not None:
        return key
    fresh = AESGCM.generate_key(bit_length=256)
    try:
        with conn.begin_nested():
            conn.execute(insert(subject_keys).values(subject=subject, key=fresh, created_at=now, ref=ref))
    except IntegrityError:
        existing = get_key(conn, subject)
        assert existing is not None
        return existing
    return fresh


def encrypt(key: bytes, plaintext: bytes, associated: bytes) -> tuple[bytes, bytes]:
    """(nonce, ciphertext); ``associated`` binds the ciphertext to its metadata."""
    nonce = os.urandom(12)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, associated)


def decrypt(key: bytes, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    return AESGCM(key).decrypt(nonce, ciphertext, associated)
