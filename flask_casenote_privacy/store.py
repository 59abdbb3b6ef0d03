"""Tables of the main privacy database.

Each capability adds its tables here together with an Alembic migration in
``migrations/main/versions``; ``tests/test_migrations.py`` checks that the two agree.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Connection

from .db import UTCDateTime
from .policy import Policy

__all__ = ["metadata", "policy_versions", "record_policy_version"]

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


def record_policy_version(conn: Connection, policy: Policy, now: datetime) -> bool:
    """Store this text of the policy unless it is already stored; True if it was new."""
    exists = conn.execute(
        select(policy_versions.c.id).where(policy_versions.c.digest == policy.digest)
    ).first()
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
