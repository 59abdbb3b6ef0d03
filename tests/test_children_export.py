"""A member's own export (열람, PIPA §35) includes their legal representative's
consent (§22-2): how and when it was confirmed, the purposes granted, and the
representative's name and contact masked. SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import URL

from tests.helpers import add_routes
from tests.test_children import GUARDIAN_CONTACT, GUARDIAN_NAME, guardian_policy


def test_the_members_export_shows_the_guardians_consent_with_name_and_contact_masked(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, clock: Any
) -> None:
    main, archive = database_urls
    clock.set("2026-11-30T12:00:00+09:00")
    app = make_app(
        PRIVACY_POLICY=guardian_policy(tmp_path), PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive
    )
    add_routes(app)
    privacy = app.extensions["privacy"]
    with app.app_context():
        privacy.record_guardian_consent(
            "41",
            guardian_name=GUARDIAN_NAME,
            guardian_contact=GUARDIAN_CONTACT,
            method="sms",
            verified_at=datetime(2026, 11, 30, 2, 30, tzinfo=timezone.utc),
            purposes=["service_improvement"],
        )
        privacy.record_guardian_consent("42", guardian_name="이보호", guardian_contact="010-9999-0000", method="email")

    export = app.test_client().get("/privacy/export", headers={"X-Test-Subject": "41"}).get_json()
    assert export["guardian_consents"] == [
        {
            "method": "sms",
            "verified_at": "2026-11-30T11:30:00+09:00",
            "recorded_at": "2026-11-30T12:00:00+09:00",
            "purposes": ["service_improvement"],
            "policy_version": export["policy_version"],
            "guardian_name": "김***",
            "guardian_contact": "0***",
        }
    ]
    text = json.dumps(export, ensure_ascii=False)
    assert GUARDIAN_NAME not in text and GUARDIAN_CONTACT not in text and "이보호" not in text
    # Another member, without one: an empty list.
    other = app.test_client().get("/privacy/export", headers={"X-Test-Subject": "43"}).get_json()
    assert other["guardian_consents"] == []
