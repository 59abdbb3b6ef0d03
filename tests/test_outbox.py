"""Notices go through a durable outbox in the main database, on SQLite, PostgreSQL and
MariaDB: with SMTP down, a withdrawal is still registered, executed and answered;
the notices wait and are retried with backoff; an address is destroyed (and
ledgered) once its mail is sent or its retry window ends; the officer sees what was
not delivered. The withdrawal-link route is rate-limited per address and per client,
by counters every worker shares, and its answer never depends on who the address
belongs to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.mail import Mailer, MailSettings
from flask_casenote_privacy.storage.tables import destructions, outbox, requests
from tests.conftest import Outbox
from tests.member_site import PROBE_EMAIL, Payment, Site, User, build_site

JSON = {"Accept": "application/json"}
MEMBER = {"X-Test-Subject": "41"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def down_site(make_site: Callable[..., Site]) -> tuple[Site, int]:
    """A member site whose SMTP server is down (nothing listens on its port)."""
    port = free_port()
    return make_site(PRIVACY_MAIL_SERVER="127.0.0.1", PRIVACY_MAIL_PORT=port), port


def csrf(client: Any, **headers: str) -> dict[str, str]:
    token = client.get("/privacy/consent", headers={**JSON, **headers}).get_json()["csrf_token"]
    return {"X-CSRF-Token": token, **JSON, **headers}


def outbox_rows(site: Site) -> list[dict[str, Any]]:
    with site.app.app_context():
        site.privacy.services.mailer.flush()
        with site.privacy.services.databases.main.connect() as conn:
            return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def ledger(site: Site) -> list[tuple[str, str, int, str]]:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        rows = conn.execute(
            select(destructions.c.retention, destructions.c.target, destructions.c.count, destructions.c.method)
            .where(destructions.c.retention == "mail_address")
            .order_by(destructions.c.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def cli(site: Site, *args: str) -> Any:
    result = site.app.test_cli_runner().invoke(args=["privacy", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_a_withdrawal_is_done_while_smtp_is_down_and_its_notices_wait(down_site: tuple[Site, int]) -> None:
    site, _ = down_site
    client = site.app.test_client()
    answer = client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "completed"
    assert site.count(User, 41) == 0 and site.count(Payment, 41) == 0  # erased (payments archived)
    rows = outbox_rows(site)
    assert [(r["kind"], r["status"], r["recipient"]) for r in rows] == [
        ("withdrawal_registered", "pending", PROBE_EMAIL),
        ("withdrawal_completed", "pending", PROBE_EMAIL),
    ]
    assert all(r["attempts"] == 1 and r["last_error"] for r in rows)  # tried once, failed, will retry
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        kept = conn.execute(select(requests.c.notify_to)).scalars().all()
    assert kept == [None]  # the request row keeps no address; the outbox holds it until sent


def test_notices_are_sent_when_smtp_is_back_and_their_addresses_destroyed(
    down_site: tuple[Site, int], clock: Any
) -> None:
    site, port = down_site
    client = site.app.test_client()
    client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER))
    assert len(outbox_rows(site)) == 2
    sink = Outbox()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # Not yet due: the backoff holds the retry back.
        assert "sent 0" in cli(site, "outbox", "--send").output
        clock.advance(seconds=31)
        assert "sent 2" in cli(site, "outbox", "--send").output
        messages = sink.wait(2)
    finally:
        controller.stop()
    assert [m["to"] for m in messages] == [[PROBE_EMAIL], [PROBE_EMAIL]]
    assert outbox_rows(site) == []
    assert [(r[1], r[2], r[3]) for r in ledger(site)] == [
        ("outbox:sent", 2, "address deleted once the notice was sent")
    ]


def test_an_address_is_destroyed_when_its_retry_window_ends_and_the_officer_sees_it(
    down_site: tuple[Site, int], clock: Any
) -> None:
    site, _ = down_site
    client = site.app.test_client()
    client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER))
    assert len(outbox_rows(site)) == 2  # the mail thread has tried once
    clock.advance(days=3, seconds=1)  # PRIVACY_MAIL_RETRY_WINDOW: P3D
    assert "expired 2" in cli(site, "outbox", "--send").output
    rows = outbox_rows(site)
    assert [(r["status"], r["recipient"]) for r in rows] == [("expired", None), ("expired", None)]
    assert [(r[2], r[3]) for r in ledger(site)] == [(2, "address deleted: retry window over, notice undelivered")]
    page = client.get("/privacy/officer/", headers={"X-Test-Officer": "officer.kang"}).get_data(as_text=True)
    assert "전달 실패" in page
    listed = client.get("/privacy/officer/", headers={"X-Test-Officer": "officer.kang", **JSON}).get_json()
    assert [n["status"] for n in listed["undelivered_notices"]] == ["expired", "expired"]


def test_the_purge_destroys_an_address_left_past_its_window(down_site: tuple[Site, int], clock: Any) -> None:
    site, _ = down_site
    client = site.app.test_client()
    client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER))
    assert len(outbox_rows(site)) == 2  # the mail thread has tried once
    clock.advance(days=4)
    cli(site, "purge")
    assert [r["recipient"] for r in outbox_rows(site)] == [None, None]


def test_the_address_is_gone_from_the_sqlite_files_once_sent(
    make_app: Callable[..., Any], tmp_path: Path, smtp: Any
) -> None:
    urls = (
        URL.create("sqlite", database=str(tmp_path / "m.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "a.sqlite")),
    )
    site = build_site(make_app, urls, tmp_path, smtp)
    site.add_member(41, "김민지", PROBE_EMAIL, [])
    client = site.app.test_client()
    client.post("/privacy/withdraw", json={"scope": "all"}, headers=csrf(client, **MEMBER))
    smtp[2].wait(2)
    assert outbox_rows(site) == []
    with site.app.app_context():
        url = site.privacy.services.databases.main.url
    for suffix in ("", "-wal"):
        path = Path(f"{url.database}{suffix}")
        if path.exists():
            assert PROBE_EMAIL.encode() not in path.read_bytes(), path
    site.close()


# -- the withdrawal-link route --------------------------------------------------------------
def ask(site: Site, email: str, client_ip: str = "198.51.100.7") -> Any:
    client = site.app.test_client()
    headers = csrf(client)
    return client.post(
        "/privacy/withdraw/email", json={"email": email}, headers=headers, environ_base={"REMOTE_ADDR": client_ip}
    )


def test_links_for_one_address_are_limited_whoever_asks(make_site: Callable[..., Site], smtp: Any) -> None:
    site = make_site()
    answers = [ask(site, PROBE_EMAIL, f"198.51.100.{n}").status_code for n in range(5)]
    assert answers == [202, 202, 202, 429, 429]
    smtp[2].wait(3)
    time.sleep(0.2)
    assert len(smtp[2].messages) == 3


def test_one_client_is_limited_across_addresses_and_across_workers(
    make_site: Callable[..., Site], make_app: Callable[..., Any]
) -> None:
    limits = {"per_address": "3/hour", "per_client": "4/minute"}
    site = make_site(PRIVACY_LINK_LIMITS=limits)
    with site.app.app_context():
        dbs = site.privacy.services.databases
    # Another worker: its own app and process state, the same privacy databases.
    other = make_app(
        upgrade=False,
        PRIVACY_DATABASE_URI=dbs.main_url,
        PRIVACY_ARCHIVE_DATABASE_URI=dbs.archive_url,
        PRIVACY_LINK_LIMITS=limits,
    )
    other_worker = Site.__new__(Site)
    other_worker.app = other
    codes = [ask(site if n % 2 else other_worker, f"nobody{n}@example.kr").status_code for n in range(6)]
    assert codes == [202, 202, 202, 202, 429, 429]
    assert ask(site, "nobody9@example.kr", "198.51.100.99").status_code == 202  # another client


def test_asking_for_a_link_looks_nobody_up_in_the_request(make_site: Callable[..., Site]) -> None:
    """The answer takes the same path for members and others: the lookup happens on
    the mail thread, from the outbox."""
    site = make_site()
    users = site.privacy.services.sources["users"]
    looked_up_in: list[str] = []
    original = users.find

    def find(item: str, value: str) -> list[str]:
        looked_up_in.append(threading.current_thread().name)
        return list(original(item, value))

    users.find = find  # type: ignore[method-assign]
    for email in (PROBE_EMAIL, "nobody@example.kr"):
        assert ask(site, email).status_code == 202
    outbox_rows(site)  # the mail thread has run
    assert looked_up_in and all(name.startswith("privacy-mail") for name in looked_up_in)


def test_the_mail_queue_never_grows_whatever_the_requests() -> None:
    mailer = Mailer(MailSettings(None, 25, "p@x.kr", False, False, None, None, 1.0))
    gate = threading.Event()
    runs: list[int] = []

    def slow() -> None:
        gate.wait(5)
        runs.append(1)

    for _ in range(200):
        mailer.run_soon(slow)
    assert mailer._pool is not None and mailer._pool._work_queue.qsize() == 0  # one job in hand, none queued
    gate.set()
    mailer.flush()
    # The run in hand, and at most one more for everything asked meanwhile.
    assert 1 <= len(runs) <= 2


def test_a_rate_limit_that_does_not_read_like_a_rate_fails_at_start(make_app: Callable[..., Any]) -> None:
    from flask_casenote_privacy import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        make_app(PRIVACY_LINK_LIMITS={"per_address": "lots", "per_client": "20/hour"})
    assert raised.value.key == "PRIVACY_LINK_LIMITS"


def _count(site: Site) -> int:
    with site.app.app_context(), site.privacy.services.databases.main.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
