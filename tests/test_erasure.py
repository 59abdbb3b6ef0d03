"""The one erasure path (retention/erasure.py), on SQLite, PostgreSQL and MariaDB: a
withdrawal, a deletion request the officer completes and a tombstone re-applied
after a restore all archive what the law keeps, then erase every host source,
dependants first, each source counted once in the destruction ledger under the
retention class the policy gives its data."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import sessionmaker

from flask_casenote_privacy import ConfigurationError, load_policy
from flask_casenote_privacy.retention.erasure import erased_class
from flask_casenote_privacy.retention.ledger import _UNTIL_WITHDRAWAL_STATUTE, UNTIL_WITHDRAWAL, destruction_history
from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.crypto import subject_ref
from flask_casenote_privacy.storage.tables import tombstones
from tests.member_site import Payment, SearchHistory, Site, User, crash_first_erase

MEMBERSHIP_CLASS = '[[retention]]\nid = "membership"\n'
SEARCH_PROFILE_CLASS = """[[retention]]
id = "search_profile"
label = { ko = "검색 기록", en = "Search history" }
period = "until withdrawal"
statute = { ko = "개인정보 보호법 제21조", en = "PIPA Art. 21" }
items = ["usage_record"]

"""


def edited_policy(tmp_path: Path, old: str, new: str) -> str:
    """The casenote preset with ``old`` replaced by ``new`` (which must be found once)."""
    preset = (resources.files("flask_casenote_privacy") / "presets" / "casenote.toml").read_text("utf-8")
    assert preset.count(old) == 1, old
    path = tmp_path / "policy.toml"
    path.write_text(preset.replace(old, new), encoding="utf-8")
    return str(path)


def withdraw(site: Site, subject: str = "41") -> str:
    answer = site.app.test_client().post(
        "/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": subject}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return str(answer.get_json()["request_id"])


def ledger(site: Site, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The run's ledger rows by (target, retention class)."""
    with site.app.app_context():
        rows = destruction_history(site.privacy.services)
    return {(r["target"], r["retention"]): r for r in rows if r["run_id"] == run_id}


def counts(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {key: row["count"] for key, row in rows.items()}


def member_data(site: Site, user_id: int = 41) -> tuple[int, int, int]:
    return site.count(User, user_id), site.count(SearchHistory, user_id), site.count(Payment, user_id)


def archived(site: Site) -> list[tuple[str, str]]:
    with site.app.app_context(), site.privacy.services.databases.archive.connect() as conn:
        return sorted(
            (r[0], r[1]) for r in conn.execute(select(archived_records.c.source, archived_records.c.retention))
        )


def cli(site: Site, *args: str) -> Any:
    return site.app.test_cli_runner().invoke(args=["privacy", *args])


# -- the class of erased host data comes from the policy ------------------------------------
def test_erased_host_data_is_counted_under_the_until_withdrawal_class_that_names_its_items(
    make_site: Callable[..., Site], tmp_path: Path
) -> None:
    """search_profile comes first in the policy: only its items make search history
    (not the users table, whose items are membership's) count under it."""
    policy = edited_policy(tmp_path, MEMBERSHIP_CLASS, SEARCH_PROFILE_CLASS + MEMBERSHIP_CLASS)
    site = make_site(PRIVACY_POLICY=policy, PRIVACY_CSRF=False)
    request_id = withdraw(site)
    assert counts(ledger(site, request_id)) == {
        ("host:users", "membership"): 1,
        ("host:search_history", "search_profile"): 1,
        ("host:payments", "payment_record"): 1,
    }
    assert member_data(site) == (0, 0, 0)


def test_without_an_until_withdrawal_class_erased_host_data_is_counted_under_pipa_article_21(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """A policy keeping members' data a year (no "until withdrawal" class): the users
    table must then be purged a year after each row's date, and registering it without
    occurred_at= is refused (PIPA Art. 21(1)). Host data whose items no class names is
    counted under PIPA Art. 21's general duty, as before."""
    policy = edited_policy(
        tmp_path,
        'id = "membership"\nlabel = { ko = "회원 정보", en = "Membership data" }\nperiod = "until withdrawal"\n',
        'id = "membership"\nlabel = { ko = "회원 정보", en = "Membership data" }\nperiod = "P1Y"\n',
    )
    privacy = make_app(PRIVACY_POLICY=policy).extensions["privacy"]
    with pytest.raises(ConfigurationError) as refused:  # registering touches no database
        privacy.register_model(
            User, subject="id", items={"name": "name", "email": "email"}, session_factory=sessionmaker()
        )
    assert "'users'" in refused.value.message and "'membership' (P1Y)" in refused.value.message
    assert "occurred_at=" in refused.value.message

    class Unclassed:
        items: ClassVar[dict[str, str]] = {}
        retention = None

    assert erased_class(load_policy(policy), Unclassed()) == UNTIL_WITHDRAWAL  # type: ignore[arg-type]
    assert "개인정보 보호법 제21조" in _UNTIL_WITHDRAWAL_STATUTE


# -- a deletion request takes the withdrawal's path ----------------------------------------
def test_a_completed_deletion_request_archives_tombstones_and_erases_like_a_withdrawal_even_after_a_crash(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    registered = cli(site, "requests", "register", "--subject", "41", "--kind", "delete", "--channel", "written")
    request_id = json.loads(registered.stdout)["id"]
    assert member_data(site) == (1, 1, 1)  # nothing is erased before the officer decides

    crash_first_erase(site)  # the users table is erased last: the others are done by then
    crashed = cli(site, "requests", "complete", request_id, "--officer", "officer.kang")
    assert isinstance(crashed.exception, RuntimeError)
    assert member_data(site) == (1, 0, 0)
    done = cli(site, "requests", "complete", request_id, "--officer", "officer.kang")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "completed"

    assert member_data(site) == (0, 0, 0)
    assert archived(site) == [("payments", "payment_record")]  # archived once, not once per attempt
    rows = ledger(site, request_id)
    assert counts(rows) == {  # each source counted once, though the first attempt crashed
        ("host:users", "membership"): 1,
        ("host:search_history", "membership"): 1,
        ("host:payments", "payment_record"): 1,
    }
    assert all(r["executor"] == "withdrawal" and request_id[:8] in r["method"] for r in rows.values())
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        kinds = dict(conn.execute(select(tombstones.c.ref, tombstones.c.kind)).all())
    assert kinds[subject_ref(site.privacy.services.hash_key, "41")] == "subject"


# -- a tombstone re-applied after a restore takes it too -------------------------------------
def snapshot(site: Site, user_ids: list[int]) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The members' host rows as stored (ids included), parents first: what a backup holds."""
    tables = [User.__table__, SearchHistory.__table__, Payment.__table__]
    with site.engine.connect() as conn:
        return [
            (t, [dict(r) for r in conn.execute(select(t).where(t.c.user_id.in_(user_ids))).mappings()])
            if t is not User.__table__
            else (t, [dict(r) for r in conn.execute(select(t).where(t.c.id.in_(user_ids))).mappings()])
            for t in tables
        ]


def restore(site: Site, backup: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    with site.engine.begin() as conn:
        for table, rows in backup:
            if rows:
                conn.execute(insert(table), rows)


def purge(site: Site) -> dict[str, Any]:
    result = cli(site, "purge", "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_restored_members_are_erased_again_with_one_ledger_row_per_source_for_the_run(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    backup = snapshot(site, [41, 42])
    withdraw(site, "41")
    withdraw(site, "42")
    restore(site, backup)
    assert member_data(site, 41) == (1, 1, 1) and member_data(site, 42) == (1, 1, 0)

    report = purge(site)
    assert member_data(site, 41) == (0, 0, 0) and member_data(site, 42) == (0, 0, 0)
    rows = ledger(site, report["run_id"])
    assert counts(rows) == {
        ("host:users", "membership"): 2,
        ("host:search_history", "membership"): 2,
        ("host:payments", "payment_record"): 1,
    }
    assert all("tombstone" in r["method"] and r["executor"].startswith("cli") for r in rows.values())
    classes = {c["retention"]: c["destroyed"] for c in report["classes"]}
    assert classes["membership"] == 4
    assert archived(site) == [("payments", "payment_record")]  # the restored payment was archived already


def test_a_purge_that_crashes_while_erasing_a_restored_member_counted_it_first_and_the_next_purge_finishes(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(PRIVACY_CSRF=False)
    backup = snapshot(site, [41])
    withdraw(site, "41")
    restore(site, [(t, rows) for t, rows in backup if t is not Payment.__table__])
    crashing = crash_first_erase(site)  # users, the last source erased

    with site.app.app_context(), pytest.raises(RuntimeError, match="power cut"):
        site.privacy.purge()
    assert member_data(site) == (1, 0, 0)
    # Counted before erasing: the crash lost no count of what it was about to destroy.
    before = [r for r in _history(site.app) if "tombstone" in r["method"]]
    assert {(r["target"], r["count"]) for r in before} == {("host:search_history", 1), ("host:users", 1)}

    site.privacy._sources["users"] = crashing.source  # the restarted process has the plain source
    purge(site)
    assert member_data(site) == (0, 0, 0)


def _history(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return destruction_history(app.extensions["privacy"].services)
