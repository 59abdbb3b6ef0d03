"""``flask privacy ...``: the command-line face of the extension. Parse and format
only: each command calls the same service functions as the web pages, and a
domain error becomes a message on stderr and exit status 1."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any, NoReturn, TextIO, TypeVar

import click
from flask import current_app, render_template
from flask.cli import with_appcontext

from .errors import PolicyError, PrivacyError
from .policy.loader import load_policy, starter_policy, usage_problems
from .policy.render import policy_context, template_variables
from .retention.ledger import destruction_history
from .retention.purge import known_classes, purge
from .rights import desk
from .rights.outbox import deliver_due, undelivered
from .rights.requests import CHANNELS, KINDS
from .services import Services, current_services
from .storage.migrate import upgrade_all

__all__ = ["privacy_cli"]

F = TypeVar("F", bound=Callable[..., Any])


def _services() -> Services:
    return current_services()


_RESULTS = "flask_casenote_privacy.results"  # click's ctx.meta: where the command's result goes


@contextmanager
def _stdout_for_the_result() -> Iterator[TextIO]:
    """While a command runs, only its result reaches stdout: the process's stdout
    (file descriptor 1) points to stderr, and the result goes to a copy of the
    real one. A log handler writing to ``sys.stdout`` (``StreamHandler(sys.stdout)``,
    ``basicConfig(stream=sys.stdout)``, structlog's default ``PrintLogger``), a
    ``print`` or a background thread then writes to stderr, wherever it took its
    stream from, and ``flask privacy export 1 | jq`` always reads JSON."""
    stdout = sys.stdout
    try:
        out_fd, err_fd = stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (click's CliRunner): nothing to separate
        yield stdout
        return
    stdout.flush()
    saved = os.dup(out_fd)
    result = open(saved, "w", encoding=stdout.encoding, errors=stdout.errors)  # noqa: SIM115
    os.dup2(err_fd, out_fd)
    try:
        yield result
    finally:
        stdout.flush()  # what others wrote meanwhile still goes to stderr
        os.dup2(saved, out_fd)
        result.close()  # the result, to the real stdout


def _in_app(command: F) -> F:
    """Every command: in the app's context, its result alone on stdout, and a domain
    error said on stderr with exit status 1."""
    return with_appcontext(_clean_stdout(_domain_errors(command)))


def _clean_stdout(command: F) -> F:
    """Run a command with :func:`_stdout_for_the_result`; the notices it queued
    leave before stdout is given back, so the mail thread's log lines go to
    stderr too (and the mail before the process ends)."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        meta = click.get_current_context().meta
        with _stdout_for_the_result() as result:
            meta[_RESULTS] = result
            try:
                outcome = command(*args, **kwargs)
                # No timeout: the process would wait for the mail thread at exit anyway.
                _services().mailer.flush(timeout=None)
                return outcome
            finally:
                del meta[_RESULTS]

    return wrapped  # type: ignore[return-value]


def _echo(text: str) -> None:
    """A line of the command's result (:func:`_clean_stdout`)."""
    click.echo(text, file=click.get_current_context().meta.get(_RESULTS))


def _domain_errors(command: F) -> F:
    """A domain error is the user's mistake or a refused action: say why, exit 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PrivacyError as exc:
            click.echo(f"error: {exc.message}", err=True)
            raise SystemExit(1) from None

    return wrapped  # type: ignore[return-value]


@click.group("privacy")
def privacy_cli() -> None:
    """Privacy policy, requests, retention and destruction (flask-casenote-privacy)."""


@privacy_cli.group("policy")
def policy_group() -> None:
    """Show, check or start a policy."""


@policy_group.command("show")
@click.option("--lang", default=None, help="Language of the text (default: PRIVACY_DEFAULT_LANGUAGE).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_in_app
def policy_show(lang: str | None, fmt: str) -> None:
    """Print the policy in force."""
    policy = _services().policy
    if fmt == "json":
        _echo(json.dumps(policy.to_dict(), ensure_ascii=False, indent=2))
        return
    lang = lang or _services().settings.default_language
    if lang not in policy.languages:
        raise click.BadParameter(
            f"{lang!r}; this policy is available in: {', '.join(policy.languages)}", param_hint="--lang"
        )
    text = render_template("privacy/policy.txt", **template_variables(policy_context(policy, lang)))
    _echo(text.rstrip())


@policy_group.command("init")
@click.argument("path", required=False, default="privacy-policy.toml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def policy_init(path: str, force: bool) -> None:
    """Write a starter policy file (default: ./privacy-policy.toml).

    It has the structure of the bundled preset, with every company fact a
    "<<FILL IN: ...>>" placeholder; `policy check` and start-up refuse it,
    naming each placeholder, until every one is filled in."""
    try:
        with open(path, "w" if force else "x", encoding="utf-8") as file:
            file.write(starter_policy())
    except FileExistsError:
        click.echo(f"error: {path} exists; pass --force to overwrite it", err=True)
        raise SystemExit(1) from None
    except OSError as exc:
        click.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"wrote {path}: fill in every <<FILL IN: ...>>, then run `flask privacy policy check {path}`")


@policy_group.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@_in_app
def policy_check(path: str | None) -> None:
    """Validate a policy file (default: the configured policy); list every problem.

    A file passes only if ``init_app`` would start with it under this app's
    configuration: the file itself, and what the extension asks of it
    (the retention classes PRIVACY_CAPTURE_RETENTION and PRIVACY_PROVISION_RETENTION name)."""
    config = current_app.config
    source = path if path is not None else config["PRIVACY_POLICY"]
    try:
        policy = load_policy(source)
    except PolicyError as exc:
        _report_problems(exc.source, exc.problems)
    found = usage_problems(
        policy,
        capture_retention=config["PRIVACY_CAPTURE_RETENTION"],
        provision_retention=config["PRIVACY_PROVISION_RETENTION"],
    )
    if found:
        _report_problems(str(source), [f"{key}: {problem}" for key, problem in found])
    _echo(
        f"{source}: valid (version {policy.version}, {len(policy.items)} items, "
        f"{len(policy.purposes)} purposes, {len(policy.retention)} retention classes)"
    )


def _report_problems(source: str, problems: list[str]) -> NoReturn:
    click.echo(f"{source}: {len(problems)} problem(s)", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    raise SystemExit(1)


@privacy_cli.group("db")
def db_group() -> None:
    """The extension's two databases."""


@db_group.command("upgrade")
@_in_app
def db_upgrade() -> None:
    """Create or upgrade the tables of the main and archive databases (safe to repeat)."""
    services = _services()
    for result in upgrade_all(services.databases, services.policy, services.now()):
        url = services.databases.main_url if result.database == "main" else services.databases.archive_url
        state = f"{result.before or 'empty'} -> {result.after}" if result.changed else f"at {result.after}"
        _echo(f"{result.database} database ({url.render_as_string(hide_password=True)}): {state}")


# -- the officer's desk ----------------------------------------------------------------
def _operator_name(officer: str | None) -> str:
    if officer:
        return officer
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _operator(officer: str | None) -> desk.Operator:
    return desk.Operator(_operator_name(officer), None, "cli")


@privacy_cli.group("requests")
def requests_group() -> None:
    """Data-subject requests: list, register, complete, refuse."""


@requests_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--officer", default=None, help="Who is asking (for the operator access record).")
@_in_app
def requests_list(fmt: str, officer: str | None) -> None:
    """Requests, overdue first (each with id, subject, kind, status, due_at)."""
    rows = desk.list_requests(_services(), _operator(officer))
    if fmt == "json":
        _echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        _echo("no requests")
    for r in rows:
        flag = "OVERDUE " if r["overdue"] else ""
        scope = ",".join(r["purposes"]) if r["purposes"] else r["scope"]
        _echo(
            f"{flag}{r['id']}  {r['kind']:<8} {r['status']:<10} subject={r['subject']} "
            f"scope={scope} channel={r['channel']} due={r['due_at']}"
        )


@requests_group.command("register")
@click.option("--subject", required=True, help="The member's id.")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--channel", required=True, type=click.Choice(CHANNELS))
@click.option("--scope", type=click.Choice(["all"]), default=None, help="All purposes (leave membership).")
@click.option("--purpose", "purposes", multiple=True, help="A purpose (repeatable) instead of --scope all.")
@click.option("--officer", default=None, help="Who registers it (default: the OS user).")
@_in_app
def requests_register(
    subject: str, kind: str, channel: str, scope: str | None, purposes: tuple[str, ...], officer: str | None
) -> None:
    """Register a written or emailed request at once (a withdrawal also executes at once)."""
    req = desk.register(
        _services(),
        _operator(officer),
        subject=subject,
        kind=kind,
        channel=channel,
        scope=scope,
        purposes=list(purposes),
    )
    _echo(json.dumps(req, ensure_ascii=False, indent=2))


@requests_group.command("complete")
@click.argument("request_id")
@click.option("--officer", default=None)
@_in_app
def requests_complete(request_id: str, officer: str | None) -> None:
    """Carry out a request (erase for stop/delete; tell the member an access request is ready)."""
    req = desk.complete(_services(), request_id, _operator(officer))
    _echo(json.dumps(req, ensure_ascii=False, indent=2))


@requests_group.command("refuse")
@click.argument("request_id")
@click.option("--ground", required=True, help="A refusal ground id of the policy.")
@click.option("--reason", required=True, help="The explanation the member receives.")
@click.option("--officer", default=None)
@_in_app
def requests_refuse(request_id: str, ground: str, reason: str, officer: str | None) -> None:
    """Refuse on a statutory ground; nothing is erased; the member is told how to object."""
    req = desk.refuse(_services(), request_id, _operator(officer), ground=ground, reason=reason)
    _echo(json.dumps(req, ensure_ascii=False, indent=2))


@privacy_cli.command("export")
@click.argument("subject")
@click.option("--officer", default=None)
@_in_app
def export_command(subject: str, officer: str | None) -> None:
    """Everything held about SUBJECT, as JSON (writes an operator access record)."""
    data = desk.export(_services(), subject, _operator(officer))
    _echo(json.dumps(data, ensure_ascii=False, indent=2))


@privacy_cli.command("outbox")
@click.option("--send", is_flag=True, help="Send every notice that is due now (the worker does this on schedule).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_in_app
def outbox_command(send: bool, fmt: str) -> None:
    """Notices to members not delivered yet, or never; with --send, send what is due."""
    services = _services()
    sent = deliver_due(services) if send else None
    rows = undelivered(services)
    if fmt == "json":
        _echo(json.dumps({"delivery": asdict(sent) if sent else None, "undelivered": rows}, ensure_ascii=False))
        return
    if sent is not None:
        _echo(f"sent {sent.sent}, failed {sent.failed} (retried later), expired {sent.expired}")
    for r in rows:
        _echo(
            f"{r['status']:<8} {r['kind']:<22} request={r['request_id'] or '-'} attempts={r['attempts']} "
            f"error={r['last_error'] or '-'}"
        )
    if not rows:
        _echo("every notice has been delivered")


# -- destruction -----------------------------------------------------------------------
@privacy_cli.command("purge")
@click.option("--now", "now_text", default=None, help="Decide as if it were this ISO-8601 instant (default: now).")
@click.option("--dry-run", is_flag=True, help="Print the same figures; change nothing.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help="Rows in the first batch; batches grow while each transaction stays under ~160 ms.",
)
@click.option("--class", "classes", multiple=True, help="Only this retention class (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--history", is_flag=True, help="Print the destruction ledger instead of purging.")
@click.option("--vacuum", is_flag=True, help="Also reclaim the space (VACUUM / OPTIMIZE TABLE).")
@click.option("--executor", default=None, help="Who runs it, for the ledger (default: the OS user).")
@_in_app
def purge_command(
    now_text: str | None,
    dry_run: bool,
    batch_size: int,
    classes: tuple[str, ...],
    fmt: str,
    history: bool,
    vacuum: bool,
    executor: str | None,
) -> None:
    """Destroy everything past its retention and write the destruction ledger.

    Exit status: 0 done (or nothing to do), 1 bad arguments, 2 usage error.
    """
    services = _services()
    tz = services.policy.tz
    if history:
        rows = destruction_history(services)
        if fmt == "json":
            _echo(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                _echo(
                    f"{r['ran_at']}  {r['retention']:<20} {r['count']:>8}  {r['target']:<18} "
                    f"{r['executor']}  run={r['run_id'][:8]}  {r['method']}"
                )
            if not rows:
                _echo("the destruction ledger is empty")
        return
    problems = []
    now = None
    if now_text is not None:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
            if now.tzinfo is None:
                now = now.replace(tzinfo=tz)  # a wall-clock time is read on the policy's calendar
        except ValueError:
            problems.append(f"--now: {now_text!r} is not an ISO-8601 date-time (e.g. 2027-03-01T00:00:00+09:00)")
    valid = known_classes(services)
    for cls in classes:
        if cls not in valid:
            problems.append(f"--class: unknown retention class {cls!r} (known: {', '.join(valid)})")
    if problems:
        for p in problems:
            click.echo(f"error: {p}", err=True)
        raise SystemExit(1)
    report = purge(
        services,
        now=now,
        dry_run=dry_run,
        batch_size=batch_size,
        classes=classes or None,
        executor=_operator_name(executor),
        vacuum=vacuum,
    )
    data = report.to_dict(tz)
    if fmt == "json":
        _echo(json.dumps(data, ensure_ascii=False))  # one line per run: cron appends them to a .jsonl file
        return
    title = "dry run: nothing changed" if dry_run else f"run {report.run_id}"
    _echo(f"purge at {data['now']} ({title})")
    _echo(f"{'retention class':<22}{'destroyed':>10}{'kept':>10}  next expiry")
    for c in data["classes"]:
        _echo(f"{c['retention']:<22}{c['destroyed']:>10}{c['kept']:>10}  {c['next_expiry'] or '-'}")
    _echo(f"{'total':<22}{data['destroyed']:>10}")
