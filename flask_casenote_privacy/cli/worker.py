"""``flask privacy worker``: the schedule without cron, safe to run on every host.

Jobs: the purge (default daily), the mail outbox (every 30 s) and the capture
spool's replay (every 60 s). Before the purge and the mail job the worker takes
that job's lock in the main database without waiting (:func:`try_exclusive`), and
skips the job if another process, on any host, holds it. The spool replay takes
none: each host's spool is its own, and a file is claimed by an atomic rename.
SIGTERM or SIGINT: the job under way finishes, then the worker exits 0.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from types import FrameType
from typing import Any

import click

from ..retention.purge import purge
from ..rights.outbox import deliver_due
from ..services import Services
from ..storage.migrate import try_exclusive
from .common import app_services, echo_result, in_app

__all__ = ["LOCK_PREFIX", "parse_interval", "worker_command"]

LOCK_PREFIX = "flask_casenote_privacy.worker."
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """``30s``, ``5m``, ``24h``, ``1d`` or plain seconds, as seconds (more than 0)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"{text!r} is not an interval (e.g. 30s, 5m, 24h, 1d)")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _interval(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_interval(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@dataclass
class _Job:
    name: str
    every: float
    run: Callable[[Services], dict[str, Any]]
    locked: bool = True  # one process at a time, across hosts


def _purge(services: Services) -> dict[str, Any]:
    report = purge(services, executor="worker", approved_by=services.settings.purge_approver)
    data = report.to_dict(services.policy.tz)
    return {"run_id": report.run_id, "destroyed": data["destroyed"]}


def _mail(services: Services) -> dict[str, Any]:
    sent = deliver_due(services)
    return {"sent": sent.sent, "failed": sent.failed, "expired": sent.expired, "dropped": sent.dropped}


def _spool(services: Services) -> dict[str, Any]:
    return {"replayed": services.replay_spool()}


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop``: the job under way finishes first."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (a test runner's thread)
        return
    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def _run_job(services: Services, job: _Job) -> dict[str, Any]:
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lock = try_exclusive(services.databases.main, LOCK_PREFIX + job.name) if job.locked else nullcontext(True)
    started = time.monotonic()
    try:
        with lock as held:
            if not held:
                return {"at": at, "job": job.name, "status": "skipped", "reason": "locked by another process"}
            details = job.run(services)
    except Exception as exc:  # a database or SMTP outage: said, and tried again next time
        click.echo(f"error: worker job {job.name} failed: {type(exc).__name__}: {exc}", err=True)
        return {"at": at, "job": job.name, "status": "failed", "error": type(exc).__name__}
    return {"at": at, "job": job.name, "status": "ran", "seconds": round(time.monotonic() - started, 3), **details}


def _line(outcome: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(outcome, ensure_ascii=False)
    rest = " ".join(f"{k}={v}" for k, v in outcome.items() if k not in ("at", "job", "status"))
    return f"{outcome['at']} {outcome['job']} {outcome['status']}" + (f" {rest}" if rest else "")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run each job once and exit (for tests and cron).")
@click.option("--purge-every", default="24h", show_default=True, callback=_interval, help="Purge interval.")
@click.option("--mail-every", default="30s", show_default=True, callback=_interval, help="Outbox interval.")
@click.option("--spool-every", default="60s", show_default=True, callback=_interval, help="Spool replay interval.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def worker_command(once: bool, purge_every: float, mail_every: float, spool_every: float, fmt: str) -> None:
    """Run the purge, the mail outbox and the spool replay on schedule, without cron.

    Safe on every host at once: a job another process is running is skipped.
    One line per job run on stdout. Exit status: 0 (also on SIGTERM/SIGINT);
    with --once, 1 if a job failed."""
    services = app_services()
    jobs = [
        _Job("purge", purge_every, _purge),
        _Job("mail", mail_every, _mail),
        _Job("spool", spool_every, _spool, locked=False),
    ]
    due = {job.name: time.monotonic() for job in jobs}
    stop = threading.Event()
    failed = False
    with _stop_on_signals(stop):
        while not stop.is_set():
            for job in jobs:
                if stop.is_set():
                    break
                if time.monotonic() >= due[job.name]:
                    outcome = _run_job(services, job)
                    failed |= outcome["status"] == "failed"
                    echo_result(_line(outcome, fmt))
                    due[job.name] = time.monotonic() + job.every
            if once:
                break
            stop.wait(max(0.0, min(due.values()) - time.monotonic()))
    if once and failed:
        raise SystemExit(1)
