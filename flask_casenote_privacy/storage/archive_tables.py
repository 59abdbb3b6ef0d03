"""Tables of the archive database: the separate DB of policy section 5 (분리보관).

Records arrive here only when the law makes the controller keep them after
their purpose ended (a member left, but a payment must be kept five years).
Each is encrypted with its subject's key, which lives in the main database.
The archive holds no plain subject id: ``subject_ref`` is a keyed hash.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .engines import UTCDateTime
from .tables import destruction_table

__all__ = ["archived_records", "destructions", "metadata"]

metadata = MetaData()

archived_records = Table(
    "privacy_archived_record",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("subject_ref", String(64), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("record_key", String(191), nullable=False),
    Column("retention", String(64), nullable=False),
    Column("statute", Text, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime, nullable=False),
    Column("request_id", String(32), nullable=True),
    Column("nonce", LargeBinary(), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    UniqueConstraint("source", "record_key", name="uq_privacy_archived_record_source_key"),
    Index("ix_privacy_archived_record_retention_expires", "retention", "expires_at"),
)

destructions = destruction_table(metadata)
