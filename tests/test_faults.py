"""Faults against real processes: the Casenote demo under gunicorn with its main
database unreachable for a while, a worker killed with SIGKILL under load (the
documented loss window, and none at all with ``PRIVACY_CAPTURE_SYNC``), and a
withdrawal killed with SIGKILL between its archive copy and the host erasure.
A purge killed mid-run is in tests/test_purge_processes.py. Figures are in
docs/reliability.md.

Every request carries a unique marker in its path (``/load/<i>``, a 404 that is
still captured), so that each access event can be matched to its request.
"""

from __future__ import annotations

import http.client
import json
import os
import select as selectmod
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL

from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.tables import access_log, destructions
from flask_casenote_privacy.storage.tables import requests as requests_table

pytestmark = pytest.mark.slow  # real processes, SIGKILL and outages

ROOT = Path(__file__).resolve().parents[1]
BOTH = pytest.mark.parametrize("database_urls", ["sqlite", "postgresql"], indirect=True)

FAULTAPP = """
import os

from flask import jsonify

from examples.casenote_demo import create_app

config = {
    "PRIVACY_WRITER_RETRY_SECONDS": 0.2,
    "PRIVACY_CAPTURE_SYNC": os.environ.get("FAULT_SYNC") == "1",
    "PRIVACY_CAPTURE_EXCLUDE": ["/_fault/"],
    "PRIVACY_LOG_ACCESS": False,
}
if os.environ.get("FAULT_NULLPOOL") == "1":
    # Each connection opens the SQLite file anew, so that a renamed directory is an
    # outage (an open file stays writable whatever happens to its name).
    from sqlalchemy.pool import NullPool

    config["PRIVACY_ENGINE_OPTIONS"] = {"poolclass": NullPool}
app = create_app(config)
privacy = app.extensions["privacy"]


@app.get("/_fault/flush")
def flush():
    durable = privacy.flush(timeout=30)
    return jsonify(pid=os.getpid(), durable=durable, stats=privacy._state().writer.stats)
"""


# -- helpers --------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _env(tmp_path: Path, main: URL, archive: URL, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "DEMO_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        "PRIVACY_DATABASE_URI": _url(main),
        "PRIVACY_ARCHIVE_DATABASE_URI": _url(archive),
        "PRIVACY_SPOOL_DIR": str(tmp_path / "spool"),
        "SECRET_KEY": "fault-test-secret",
        "PRIVACY_EXTERNAL_URL": "http://127.0.0.1",
        **extra,
    }


class Server:
    """gunicorn serving FAULTAPP from tmp_path."""

    def __init__(self, tmp_path: Path, env: dict[str, str], workers: int) -> None:
        (tmp_path / "faultapp.py").write_text(textwrap.dedent(FAULTAPP), encoding="utf-8")
        # The schema once, before the workers start (as `flask privacy db upgrade` on a deploy).
        subprocess.run([sys.executable, "-c", "import faultapp"], cwd=tmp_path, env=env, check=True, timeout=120)
        self.port = _free_port()
        self.log = tmp_path / "gunicorn.log"
        args = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--graceful-timeout", "30"]
        args += ["-b", f"127.0.0.1:{self.port}", "faultapp:app"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        # Every worker booted (each runs the demo's auto-upgrade, one at a time under the
        # upgrade lock) before a test begins: a worker still booting when an outage starts
        # fails to boot, and gunicorn then stops the whole server.
        deadline = time.monotonic() + 60
        booted: set[int] = set()
        while len(booted) < workers:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            try:
                status, body = self.get("/_fault/flush", timeout=2)
                if status == 200:
                    booted.add(json.loads(body)["pid"])
            except OSError:
                pass
            assert time.monotonic() < deadline, f"gunicorn answered from {len(booted)} of {workers} workers"
            time.sleep(0.05)

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def flush(self) -> dict[str, Any]:
        status, body = self.get("/_fault/flush")
        assert status == 200
        result: dict[str, Any] = json.loads(body)
        return result

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text(errors="replace")


class Load:
    """Client threads sending ``/load/<i>`` for consecutive markers; never retried."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.next = 0
        self.lock = threading.Lock()
        self.answered: dict[int, float] = {}  # marker -> monotonic time its response was read
        self.statuses: Counter[int] = Counter()
        self.failed: dict[int, str] = {}

    def send(self, count: int, clients: int = 4, *, until: threading.Event | None = None) -> None:
        """``count`` requests (or, with ``until``, as many as fit before it is set, at most ``count``)."""
        with self.lock:
            first, self.next = self.next, self.next + count
        todo = iter(range(first, first + count))
        deadline = time.monotonic() + 60

        def client() -> None:
            conn: http.client.HTTPConnection | None = None
            while time.monotonic() < deadline and not (until is not None and until.is_set()):
                with self.lock:
                    i = next(todo, None)
                if i is None:
                    break
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
                try:
                    conn.request("GET", f"/load/{i}")
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with self.lock:
                        self.failed[i] = repr(exc)
                    conn.close()
                    conn = None
                    continue
                with self.lock:
                    self.answered[i] = time.monotonic()
                    self.statuses[response.status] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads)


def _markers(main: URL) -> Counter[int]:
    """How many access events each marker has in the main database."""
    engine = create_engine(main)
    try:
        with engine.connect() as conn:
            paths = conn.execute(select(access_log.c.path).where(access_log.c.path.like("/load/%"))).scalars().all()
            ids = conn.execute(select(func.count(), func.count(access_log.c.event_id.distinct()))).one()
    finally:
        engine.dispose()
    assert ids[0] == ids[1]  # event ids are unique
    return Counter(int(p.rsplit("/", 1)[1]) for p in paths)


def _spooled_lines(spool: Path) -> int:
    """Distinct events in the spool files (a replay attempt renames files meanwhile)."""
    for _ in range(20):
        try:
            # Only complete lines: a writer may be appending a batch right now (a
            # batch larger than one write() shows up in pieces).
            return len(
                {
                    json.loads(line)["event_id"]
                    for p in list(spool.glob("access-*.jsonl*"))
                    for line in p.read_text().split("\n")[:-1]
                }
            )
        except FileNotFoundError:
            time.sleep(0.01)
    raise AssertionError("the spool kept changing")


# -- (a) the database unreachable for a while ----------------------------------------------
@pytest.fixture
def outage_urls(database_urls: tuple[URL, URL], tmp_path: Path) -> tuple[URL, URL]:
    """SQLite: the main database alone in a directory that can be renamed away."""
    if database_urls[0].get_backend_name() != "sqlite":
        return database_urls
    (tmp_path / "maindb").mkdir()
    return URL.create("sqlite", database=str(tmp_path / "maindb" / "privacy.sqlite")), database_urls[1]


class Outage:
    """Make the main database unreachable, and bring it back."""

    def __init__(self, main: URL, tmp_path: Path) -> None:
        self.main = main
        self.dir = tmp_path / "maindb"
        self.away = tmp_path / "maindb-away"

    def _admin(self, *statements: str) -> None:
        engine = create_engine(self.main.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement), {"n": self.main.database})
        finally:
            engine.dispose()

    def begin(self) -> None:
        if self.main.get_backend_name() == "sqlite":
            self.dir.rename(self.away)
        else:
            name = self.main.database
            self._admin(
                f"ALTER DATABASE {name} ALLOW_CONNECTIONS false",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n",
            )

    def end(self) -> None:
        if self.main.get_backend_name() == "sqlite":
            if self.away.exists():
                self.away.rename(self.dir)
        else:
            self._admin(f"ALTER DATABASE {self.main.database} ALLOW_CONNECTIONS true")


@BOTH
def test_requests_are_served_while_the_database_is_down_and_every_event_is_replayed(
    outage_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    pytest.importorskip("gunicorn")
    main, archive = outage_urls
    extra = {"FAULT_NULLPOOL": "1"} if main.get_backend_name() == "sqlite" else {}
    server = Server(tmp_path, _env(tmp_path, main, archive, **extra), workers=2)
    outage = Outage(main, tmp_path)
    spool = tmp_path / "spool"
    figures: dict[str, Any] = {}
    try:
        load = Load(server)
        load.send(200)  # before: written directly
        outage.begin()
        down_at = time.monotonic()
        try:
            load.send(400)  # during: served, and spooled
            deadline = time.monotonic() + 45  # generous: a slow reconnect must not flake
            while _spooled_lines(spool) < 400:
                assert time.monotonic() < deadline, f"spooled {_spooled_lines(spool)} of 400"
                time.sleep(0.05)
            figures["spooled"] = _spooled_lines(spool)
            time.sleep(max(0.0, 2.0 - (time.monotonic() - down_at)))  # down for 2 s at least
        finally:
            outage.end()
        up_at = time.monotonic()
        figures["outage_s"] = round(up_at - down_at, 2)
        # No traffic: the idle writers retry and replay on their own.
        deadline = time.monotonic() + 30
        while sum(_markers(main).values()) < 600 or list(spool.glob("access-*")):
            assert time.monotonic() < deadline, f"replayed {sum(_markers(main).values()) - 200} of 400"
            time.sleep(0.1)
        figures["replayed_within_s"] = round(time.monotonic() - up_at, 2)
        load.send(200)  # after: written directly again
    finally:
        outage.end()
        log = server.stop()
    assert server.proc.returncode == 0, log
    assert load.failed == {}, list(load.failed.items())[:5]
    assert load.statuses == {404: 800}  # every request was served, during the outage too
    found = _markers(main)
    lost = set(range(800)) - set(found)
    duplicated = {m for m, c in found.items() if c > 1}
    figures.update(requests=800, during_outage=400, lost=len(lost), duplicated=len(duplicated))
    print(f"outage figures ({main.get_backend_name()}): {figures}")
    assert (lost, duplicated) == (set(), set()), figures
    assert list(spool.glob("access-*")) == []


# -- (b) SIGKILL of a worker under load ---------------------------------------------------
@BOTH
@pytest.mark.parametrize("sync", [False, True], ids=["queued", "sync"])
def test_sigkill_of_a_worker_loses_nothing_acknowledged_durable(
    database_urls: tuple[URL, URL], tmp_path: Path, sync: bool
) -> None:
    pytest.importorskip("gunicorn")
    main, archive = database_urls
    server = Server(tmp_path, _env(tmp_path, main, archive, FAULT_SYNC="1" if sync else "0"), workers=1)
    load = Load(server)
    try:
        victim = server.flush()["pid"]
        load.send(300)
        ack = server.flush()  # everything answered so far is durable now (one worker)
        assert ack["durable"] and ack["pid"] == victim
        acknowledged = set(load.answered)
        # Under load: kill the worker once 200 more responses are in.
        stop = threading.Event()
        sender = threading.Thread(target=load.send, args=(5000,), kwargs={"until": stop})
        sender.start()
        deadline = time.monotonic() + 30
        while len(load.answered) < len(acknowledged) + 200:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(0.3)
        stop.set()
        sender.join(timeout=90)
        sent_before_after = load.next
        load.send(200)  # the replacement worker
        after = server.flush()
        assert after["pid"] != victim
    finally:
        log = server.stop()
    assert server.proc.returncode == 0, log
    found = _markers(main)
    assert {m for m, c in found.items() if c > 1} == set()  # none duplicated
    assert acknowledged <= set(found)  # acknowledged durable stays durable
    answered_before_kill = {m for m, at in load.answered.items() if at <= killed_at}
    lost = answered_before_kill - set(found)
    # A request in flight at the kill got no answer; it may or may not be recorded.
    unanswered = set(load.failed)
    later = {m for m in load.answered if m >= sent_before_after}
    assert later <= set(found)  # the replacement worker loses nothing
    window_ms = round((killed_at - min(load.answered[m] for m in lost)) * 1000, 1) if lost else 0.0
    figures = {
        "mode": "sync" if sync else "queued",
        "acknowledged": len(acknowledged),
        "answered_before_kill": len(answered_before_kill),
        "lost": len(lost),
        "loss_window_ms": window_ms,
        "in_flight_unanswered": len(unanswered),
        "in_flight_recorded": len(unanswered & set(found)),
        "after_kill": len(later),
    }
    print(f"sigkill figures ({main.get_backend_name()}): {figures}")
    if sync:
        assert lost == set(), figures  # durable before the response: nothing answered is lost
    else:
        assert len(lost) <= 10_000  # at most PRIVACY_WRITER_QUEUE_SIZE
        assert all(m not in acknowledged for m in lost)
        assert window_ms < 2000, figures  # only the last moments before the kill


# -- (c) SIGKILL during a withdrawal ------------------------------------------------------
WITHDRAWAPP = """
import os
import sys
import time

from examples.casenote_demo import create_app
from examples.casenote_demo.models import Payment, Search, User, db
from flask_casenote_privacy.rights.requests import register_request
from flask_casenote_privacy.sources import ModelSource

app = create_app({"PRIVACY_LOG_ACCESS": False})
privacy = app.extensions["privacy"]
PAUSE = os.environ.get("WITHDRAW_PAUSE_BEFORE")  # erasing this table pauses (then SIGKILL)
_erase = ModelSource.erase


def erase(self, subject, items=None):
    if items is None and self.model.__tablename__ == PAUSE:
        print("ERASING", PAUSE, flush=True)
        time.sleep(60)
    return _erase(self, subject, items)


ModelSource.erase = erase

if __name__ == "__main__":
    with app.app_context():
        if sys.argv[1] == "seed":
            user = User(name="탈퇴회원", email="leaving@example.kr")
            db.session.add(user)
            db.session.flush()
            for n in range(3):
                db.session.add(Payment(user_id=user.id, amount=9900, plan="monthly", approval_no=f"A-{n}"))
            for q in ("계약", "손해배상"):
                db.session.add(Search(user_id=user.id, query=q))
            db.session.commit()
            print(user.id)
        else:
            register_request(privacy.services, subject=sys.argv[2], kind="withdraw", channel="written", scope="all")
            print("COMPLETED", flush=True)
"""


class Withdrawal:
    def __init__(self, tmp_path: Path, urls: tuple[URL, URL]) -> None:
        (tmp_path / "withdrawapp.py").write_text(textwrap.dedent(WITHDRAWAPP), encoding="utf-8")
        self.dir = tmp_path
        self.env = _env(tmp_path, *urls)
        self.main = create_engine(urls[0])
        self.archive = create_engine(urls[1])
        self.demo = create_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}")

    def python(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=self.dir,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def host(self, uid: str) -> dict[str, int]:
        with self.demo.connect() as conn:
            return {
                table: conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} = :u"), {"u": int(uid)}
                ).scalar_one()
                for table, column in (("users", "id"), ("payments", "user_id"), ("searches", "user_id"))
            }

    def archived(self) -> list[tuple[str, str]]:
        with self.archive.connect() as conn:
            return [tuple(r) for r in conn.execute(select(archived_records.c.source, archived_records.c.record_key))]

    def request(self) -> tuple[str, str]:
        with self.main.connect() as conn:
            row = conn.execute(select(requests_table.c.id, requests_table.c.status)).one()
        return str(row[0]), str(row[1])

    def ledger(self, run_id: str) -> dict[str, int]:
        with self.main.connect() as conn:
            rows = conn.execute(
                select(destructions.c.target, destructions.c.count).where(destructions.c.run_id == run_id)
            ).all()
        return {str(t): int(c) for t, c in rows}

    def close(self) -> None:
        for engine in (self.main, self.archive, self.demo):
            engine.dispose()


@pytest.fixture
def withdrawal(database_urls: tuple[URL, URL], tmp_path: Path) -> Iterator[Withdrawal]:
    made = Withdrawal(tmp_path, database_urls)
    yield made
    made.close()


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = selectmod.select([proc.stdout], [], [], timeout)
    assert ready, "no output in time"
    return proc.stdout.readline()


@pytest.mark.parametrize(
    ("database_urls", "pause_before"),
    [
        ("sqlite", "payments"),  # after the archive commit, before any host erasure
        ("postgresql", "payments"),
        ("sqlite", "searches"),  # after the archived payments were erased, before the rest
        ("postgresql", "searches"),
    ],
    indirect=["database_urls"],
    ids=["payments-sqlite", "payments-postgresql", "searches-sqlite", "searches-postgresql"],
)
def test_a_withdrawal_killed_between_archive_and_erase_is_completed_by_a_rerun(
    withdrawal: Withdrawal, pause_before: str
) -> None:
    seed = withdrawal.python("withdrawapp.py", "seed")
    out, err = seed.communicate(timeout=120)
    assert seed.returncode == 0, err
    uid = out.strip().splitlines()[-1]
    assert withdrawal.host(uid) == {"users": 1, "payments": 3, "searches": 2}

    victim = withdrawal.python("withdrawapp.py", "withdraw", uid, WITHDRAW_PAUSE_BEFORE=pause_before)
    try:
        assert _read_line(victim, 60).split() == ["ERASING", pause_before], victim.stderr
    finally:
        victim.kill()  # SIGKILL
        victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    request_id, status = withdrawal.request()
    assert status == "registered"  # not completed: the officer's list shows it open
    archived = withdrawal.archived()
    assert sorted(s for s, _ in archived) == ["payments"] * 3  # the archive copy committed first
    host = withdrawal.host(uid)
    if pause_before == "payments":
        assert host == {"users": 1, "payments": 3, "searches": 2}  # nothing erased yet
    else:
        assert host == {"users": 1, "payments": 0, "searches": 2}  # erased only what is archived

    rerun = withdrawal.python("-m", "flask", "--app", "withdrawapp", "privacy", "requests", "complete", request_id)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert withdrawal.request() == (request_id, "completed")
    assert withdrawal.host(uid) == {"users": 0, "payments": 0, "searches": 0}
    assert sorted(withdrawal.archived()) == sorted(archived)  # each record archived exactly once
    ledger = withdrawal.ledger(request_id)
    print(f"withdrawal killed before erasing {pause_before}: ledger {ledger}")
    assert ledger == {"host:payments": 3, "host:searches": 2, "host:users": 1}
