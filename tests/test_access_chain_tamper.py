"""The operator access chain against someone who can write to the database but not
read the app's key, on SQLite, PostgreSQL and MariaDB (안전성 확보조치 기준 §8 ③): a
backdated expiry breaks the record's hash and the purge will not destroy it; the
newest records cut off with the head rewound, or the oldest kept record destroyed
with the anchor moved over it, break the head's MAC; an anchor destroyed before its
expiry is reported."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update

from flask_casenote_privacy.storage.access_chain import chain_key, head_mac
from flask_casenote_privacy.storage.tables import access_chain, operator_access
from tests.conftest import Clock
from tests.test_access_records import cli, rows, write


def verify(app: Flask) -> dict[str, Any]:
    result = cli(app, "audit", "verify", "--format", "json")
    check: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == (0 if check["ok"] else 1)
    return check


def head(app: Flask) -> dict[str, Any]:
    with app.extensions["privacy"].services.databases.main.connect() as conn:
        return dict(conn.execute(select(access_chain)).mappings().one())


def tamper(app: Flask, *statements: Any) -> None:
    with app.extensions["privacy"].services.databases.main.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def test_a_backdated_expiry_is_detected_and_the_purge_does_not_destroy_it(backend_app: Flask, clock: Clock) -> None:
    app = backend_app
    clock.set("2026-01-10T10:00:00+09:00")
    write(app, 3)
    assert verify(app)["ok"]
    first, second = rows(app)[:2]
    early = datetime(2026, 2, 1, tzinfo=timezone.utc)
    tamper(
        app,
        update(operator_access).where(operator_access.c.id.in_([first["id"], second["id"]])).values(expires_at=early),
    )
    check = verify(app)
    assert (check["ok"], check["broken_seq"]) == (False, 1) and "altered" in check["problem"]
    purged = cli(app, "purge", "--now", "2026-06-01T00:00:00+09:00", "--class", "operator_access")
    assert purged.exit_code == 0, purged.stderr
    assert [r["seq"] for r in rows(app)] == [1, 2, 3]  # the evidence stays
    assert head(app)["anchor_seq"] == 0


def test_the_newest_records_cut_off_with_the_head_rewound_are_detected(backend_app: Flask) -> None:
    app = backend_app
    write(app, 4)
    third = rows(app)[2]
    tamper(
        app,
        delete(operator_access).where(operator_access.c.seq > 3),
        update(access_chain).values(seq=3, last_hash=third["hash"]),
    )
    check = verify(app)
    assert not check["ok"] and "head" in check["problem"] and "changed outside the app" in check["problem"]


def test_the_oldest_kept_record_destroyed_with_the_anchor_moved_is_detected(backend_app: Flask, clock: Clock) -> None:
    app = backend_app
    clock.set("2026-01-10T10:00:00+09:00")
    write(app, 3)
    clock.set("2026-07-10T10:00:00+09:00")
    write(app, 2, operator="officer.lee")
    purged = cli(app, "purge", "--now", "2027-02-01T00:00:00+09:00", "--class", "operator_access")
    assert purged.exit_code == 0, purged.stderr
    check = verify(app)
    assert (check["ok"], check["anchor_seq"], check["checked"]) == (True, 3, 2)
    kept = rows(app)[0]
    assert kept["seq"] == 4 and kept["expires_at"] > datetime(2027, 2, 1, tzinfo=timezone.utc)
    original = head(app)
    tamper(
        app,
        delete(operator_access).where(operator_access.c.id == kept["id"]),
        update(access_chain).values(anchor_seq=4, anchor_hash=kept["hash"], anchor_expires_at=kept["expires_at"]),
    )
    check = verify(app)
    assert not check["ok"] and "changed outside the app" in check["problem"]

    # Even signed with the app's own key (a faulty purge), an anchor destroyed before
    # its expiry is reported.
    key = chain_key(app.extensions["privacy"].services.hash_key)
    faulty = {**original, "anchor_seq": 4, "anchor_hash": kept["hash"], "anchor_expires_at": kept["expires_at"]}
    faulty["purged_at"] = kept["expires_at"] - timedelta(days=1)
    faulty["mac"] = head_mac(key, faulty)
    tamper(app, update(access_chain).values(**{k: v for k, v in faulty.items() if k != "id"}))
    check = verify(app)
    assert not check["ok"] and check["problem"] == "record 4 was destroyed before it expired"
