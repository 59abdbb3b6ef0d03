"""Tables of the main privacy database.

Each capability adds its tables here together with an Alembic migration in
``migrations/main/versions``; ``tests/test_migrations.py`` checks that the two agree.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from ..policy.model import Policy
from .engines import UTCDateTime

__all__ = [
    "access_chain",
    "access_log",
    "access_reviews",
    "consent_events",
    "destruction_table",
    "destructions",
    "guardian_consents",
    "metadata",
    "operator_access",
    "outbox",
    "policy_notices",
    "policy_versions",
    "provisions",
    "rate_limits",
    "record_policy_version",
    "requests",
    "subject_incarnations",
    "subject_keys",
    "token_uses",
    "tombstones",
]

# SQLite only autoincrements an INTEGER PRIMARY KEY; elsewhere the log needs 64 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")
SUBJECT = 191  # fits a unique index under MariaDB's utf8mb4 767-byte limit

metadata = MetaData()

# Every text of the policy that has been in force: consent records point at a
# version, and the officer can show a regulator exactly what a member agreed to.
policy_versions = Table(
    "privacy_policy_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("document", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

# Who was told of a policy change whose new version voids their consent (one row per
# version and member: telling is idempotent); the address is looked up when the
# notice is queued and leaves with the outbox row, never kept here.
policy_notices = Table(
    "privacy_policy_notice",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("version_id", Integer, nullable=False),
    Column("subject", String(SUBJECT), nullable=False),
    Column("purposes", String(255), nullable=False),
    Column("notified_at", UTCDateTime, nullable=False),
    UniqueConstraint("version_id", "subject", name="uq_privacy_policy_notice_version_subject"),
)

# Append-only consent ledger: the latest event per (subject, purpose) wins. It
# proves who agreed to what, under which policy version, through which channel
# and when; it holds no IP address (that would be personal data of its own).
consent_events = Table(
    "privacy_consent_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject", String(SUBJECT), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("purpose_fingerprint", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_privacy_consent_event_subject", "subject", "purpose", "id"),
)

# One row per captured request, only with the fields consent allowed, tagged
# with its retention class and expiry. event_id makes spool replays idempotent.
access_log = Table(
    "privacy_access_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(32), nullable=False, unique=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("retention", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("subject", String(SUBJECT), nullable=True, index=True),
    Column("ip", String(45), nullable=True),
    Column("method", String(16), nullable=True),
    Column("path", String(2048), nullable=True),
    Column("status", SmallInteger, nullable=True),
    Column("duration_ms", Float, nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("device_family", String(64), nullable=True),
    Column("os_family", String(64), nullable=True),
    Column("browser_family", String(64), nullable=True),
    Column("cookies", Text, nullable=True),
    Column("purposes", String(255), nullable=False),
    # Leading with the class: the purge finds each class, its expired range and what
    # it keeps by index seeks, never by scanning the table.
    Index("ix_privacy_access_log_retention_expires", "retention", "expires_at"),
)

# One AES-256 key per subject whose records were archived. It lives here, in the
# main database, never beside the ciphertext in the archive: destroying this
# row destroys the archived data, in every backup of the archive too.
subject_keys = Table(
    "privacy_subject_key",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject", String(SUBJECT), nullable=False, unique=True),
    Column("key", LargeBinary(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The keyed hash the archive knows this subject by, as it was when the key was
    # made: a changed PRIVACY_HASH_KEY is then detected instead of shredding keys early.
    Column("ref", String(64), nullable=True, index=True),
)

# Data-subject requests: withdrawal, processing stop, access, deletion.
requests = Table(
    "privacy_request",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(SUBJECT), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("scope", String(16), nullable=False),  # "all" or "purposes"
    Column("purposes", String(255), nullable=True),
    # scope "items": the item ids corrected or deleted (PIPA §36), never their values.
    Column("items", String(255), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("registered_by", String(191), nullable=True),
    # The officer who completed or refused it; none for a withdrawal, carried out at once.
    Column("decided_by", String(191), nullable=True),
    Column("refusal_ground", String(64), nullable=True),
    Column("refusal_reason", Text, nullable=True),
    Column("result", Text, nullable=True),
    # The member's address, read before erasure to tell them the outcome;
    # cleared once they have been told.
    Column("notify_to", String(320), nullable=True),
    # How the officer checked who asked (PIPA decree §46), and for an agent or legal
    # representative (PIPA §38, decree §45) the reference of their power of attorney.
    Column("identity_check", String(32), nullable=True),
    Column("requester", String(32), nullable=True),
    Column("agent_reference", String(191), nullable=True),
    # An access request postponed for a just reason (PIPA §35③, decree §41④).
    Column("postponed_at", UTCDateTime, nullable=True),
    Column("postponed_reason", Text, nullable=True),
    Column("first_due_at", UTCDateTime, nullable=True),
)

# Objections (이의제기) to a refused or limited request, and the officer's decision.
objections = Table(
    "privacy_objection",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("request_id", String(32), nullable=False, index=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("statement", Text, nullable=False),
    # The decision objected to, as it stood: {"ground", "reason", "withheld", "postponed_until"}.
    Column("objected_to", Text, nullable=False),
    Column("registered_by", String(191), nullable=True),
    Column("status", String(16), nullable=False),  # open, upheld, dismissed
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", String(191), nullable=True),
    Column("decision_reason", Text, nullable=True),
    # The request id while open, NULL once decided: one open objection per request.
    Column("open_key", String(32), nullable=True),
    UniqueConstraint("open_key", name="uq_privacy_objection_open_key"),
)

# Single-use emailed links: a token's nonce is recorded when it is used.
token_uses = Table(
    "privacy_token_use",
    metadata,
    Column("nonce", String(32), primary_key=True),
    Column("used_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Each handover of personal data to a recipient of the policy (section 3).
provisions = Table(
    "privacy_provision",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject", String(SUBJECT), nullable=False, index=True),
    Column("recipient", String(64), nullable=False),
    Column("items", String(512), nullable=False),
    Column("provided_at", UTCDateTime, nullable=False),
    Column("retention", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_privacy_provision_retention_expires", "retention", "expires_at"),
)

# Every officer view or export of a member's data (PIPA Art. 29 접속기록): append-only.
operator_access = Table(
    "privacy_operator_access",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("operator", String(191), nullable=False),
    Column("accessed_at", UTCDateTime, nullable=False),
    Column("ip", String(45), nullable=True),
    Column("subject", String(SUBJECT), nullable=True),
    Column("task", String(255), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    # Why an operator exported or downloaded a member's data (안전성 확보조치 기준 §8 ②).
    Column("reason", Text, nullable=True),
    # The hash chain (storage/access_chain.py): position, the previous record's hash,
    # and a keyed hash over both and this record. Rows written before the chain: NULL.
    Column("seq", BigInteger, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    UniqueConstraint("seq", name="uq_privacy_operator_access_seq"),
)

# The head of the operator access chain (one row, id 1): the last position and hash,
# and the anchor left by the purge (the hash of the last destroyed record).
access_chain = Table(
    "privacy_access_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("anchor_seq", BigInteger, nullable=False),
    Column("anchor_hash", String(64), nullable=False),
    # The anchor's expiry and when the purge destroyed it; a MAC over the whole row.
    Column("anchor_expires_at", UTCDateTime, nullable=True),
    Column("purged_at", UTCDateTime, nullable=True),
    Column("mac", String(64), nullable=False),
)

# The officer's monthly review of operator access records (안전성 확보조치 기준 §8 ②).
access_reviews = Table(
    "privacy_access_review",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False, index=True),
    Column("reviewer", String(191), nullable=False),
    Column("reviewed_at", UTCDateTime, nullable=False),
    Column("records", Integer, nullable=False),
    Column("flagged", Integer, nullable=False),
    Column("summary", Text, nullable=False),  # JSON: flag counts and the flagged records' ids
)


# Incarnations of a host's subject id (see storage/incarnations.py): a row for every
# identity that has ended, and for every identity after the first.
subject_incarnations = Table(
    "privacy_subject_incarnation",
    metadata,
    Column("identity", String(SUBJECT), primary_key=True),
    Column("host_id", String(SUBJECT), nullable=False),
    Column("incarnation", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    UniqueConstraint("host_id", "incarnation", name="uq_privacy_subject_incarnation"),
)

# Notices to members waiting for SMTP: registering and executing a request never
# waits for the mail server. A row holds the recipient's address only until the
# mail is sent or its retry window ends; a withdrawal link's token is made when the
# mail is sent, so no secret waits here.
outbox = Table(
    "privacy_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("request_id", String(32), nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("status", String(16), nullable=False),  # pending, expired
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_error", String(64), nullable=True),
    Index("ix_privacy_outbox_status_next", "status", "next_attempt_at"),
)

# Fixed-window request counters shared by every worker and host (rate limits of
# the withdrawal-link route); keys are keyed hashes of an address or a client IP.
rate_limits = Table(
    "privacy_rate_limit",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)


def destruction_table(meta: MetaData) -> Table:
    """The destruction ledger (파기 기록). Each database keeps its own, written in the
    same transaction as the rows it counts; no personal data in it."""
    return Table(
        "privacy_destruction",
        meta,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("run_id", String(32), nullable=False, index=True),
        Column("ran_at", UTCDateTime, nullable=False),
        Column("purge_now", UTCDateTime, nullable=False),
        Column("retention", String(64), nullable=False),
        Column("statute", Text, nullable=False),
        Column("target", String(64), nullable=False),
        Column("count", BigInteger, nullable=False),
        Column("method", String(255), nullable=False),
        Column("executor", String(191), nullable=False),
        # The items destroyed (the class's item ids) and who approved the destruction.
        Column("items", Text, nullable=True),
        Column("approved_by", String(191), nullable=True),
        UniqueConstraint("run_id", "retention", "target", name="uq_privacy_destruction_run_class_target"),
    )


destructions = destruction_table(metadata)

# Keyed hashes of destroyed subject keys and withdrawn subjects: a restored
# backup must not bring them back; the purge re-applies these destructions.
tombstones = Table(
    "privacy_tombstone",
    metadata,
    Column("ref", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("destroyed_at", UTCDateTime, nullable=False),
)


# A legal representative's (법정대리인) consent for a member under the policy's minimum
# age (개인정보 보호법 제22조의2, 시행령 제17조의2): who consented, how it was confirmed,
# when. The representative's name and contact are personal data: the purge empties them
# once the member has left (retention/guardian_purge.py); the proof (method, times) stays.
guardian_consents = Table(
    "privacy_guardian_consent",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject", String(SUBJECT), nullable=False),
    Column("guardian_name", String(100), nullable=True),
    Column("guardian_contact", String(200), nullable=True),
    Column("method", String(32), nullable=False),
    Column("verified_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("destroyed_at", UTCDateTime, nullable=True),
    Index("ix_privacy_guardian_consent_subject", "subject"),
)


def record_policy_version(conn: Connection, policy: Policy, now: datetime) -> bool:
    """Store this text of the policy unless it is already stored; True if it was new."""
    exists = conn.execute(select(policy_versions.c.id).where(policy_versions.c.digest == policy.digest)).first()
    if exists:
        return False

    conn.execute(
        insert(policy_versions).values(
            version=policy.version,
            digest=policy.digest,
            document=json.dumps(policy.to_dict(), ensure_ascii=False, sort_keys=True),
            recorded_at=now,
        )
    )
    return True
