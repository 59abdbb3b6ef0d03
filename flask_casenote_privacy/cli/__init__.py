"""``flask privacy ...``: the command-line face of the extension. Parse and format
only: each command calls the same service functions as the web pages, and a
domain error becomes a message on stderr and exit status 1."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

import click

from ..retention.ledger import destruction_history
from ..retention.purge import known_classes, purge
from ..rights import desk
from ..rights.identity import IDENTITY_CHECKS, REQUESTERS
from ..rights.objections import DECISIONS
from ..rights.outbox import deliver_due, undelivered
from ..rights.requests import CHANNELS, KINDS
from ..storage.migrate import upgrade_all
from .audit import audit_group
from .common import app_services, echo_result, in_app
from .policy import policy_group
from .worker import worker_command

__all__ = ["privacy_cli"]


@click.group("privacy")
def privacy_cli() -> None:
    """Privacy policy, requests, retention and destruction (flask-casenote-privacy)."""


privacy_cli.add_command(policy_group)
privacy_cli.add_command(worker_command)
privacy_cli.add_command(audit_group)


@privacy_cli.group("db")
def db_group() -> None:
    """The extension's two databases."""


@db_group.command("upgrade")
@in_app
def db_upgrade() -> None:
    """Create or upgrade the tables of the main and archive databases (safe to repeat)."""
    services = app_services()
    for result in upgrade_all(services.databases, services.policy, services.now()):
        url = services.databases.main_url if result.database == "main" else services.databases.archive_url
        state = f"{result.before or 'empty'} -> {result.after}" if result.changed else f"at {result.after}"
        echo_result(f"{result.database} database ({url.render_as_string(hide_password=True)}): {state}")


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
    """Data-subject requests: list, register, complete, refuse, postpone, objections."""


@requests_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--officer", default=None, help="Who is asking (for the operator access record).")
@in_app
def requests_list(fmt: str, officer: str | None) -> None:
    """Requests, overdue first (each with id, subject, kind, status, found, due_at)."""
    rows = desk.list_requests(app_services(), _operator(officer))
    if fmt == "json":
        echo_result(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        echo_result("no requests")
    for r in rows:
        flag = "OVERDUE " if r["overdue"] else ""
        scope = ",".join(r["purposes"]) if r["purposes"] else r["scope"]
        # found=no: nothing was held about this subject (a mistyped id, a stranger's letter);
        # ?: the request was recorded before the extension kept that.
        found = {True: "yes", False: "no"}.get(r["found"], "?")
        echo_result(
            f"{flag}{r['id']}  {r['kind']:<8} {r['status']:<10} subject={r['subject']} found={found} "
            f"scope={scope} channel={r['channel']} due={r['due_at']}"
        )


@requests_group.command("register")
@click.option("--subject", required=True, help="The member's id.")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--channel", required=True, type=click.Choice(CHANNELS))
@click.option("--scope", type=click.Choice(["all"]), default=None, help="All purposes (leave membership).")
@click.option("--purpose", "purposes", multiple=True, help="A purpose (repeatable) instead of --scope all.")
@click.option(
    "--item", "items", multiple=True, help="An item to correct (--kind correct) or delete without leaving (repeatable)."
)
@click.option("--officer", default=None, help="Who registers it (default: the OS user).")
@click.option(
    "--identity-check", type=click.Choice(IDENTITY_CHECKS), default=None, help="How the requester was identified."
)
@click.option("--requester", type=click.Choice(REQUESTERS), default=None, help="Who asked (default: the subject).")
@click.option("--agent-reference", default=None, help="An agent's power-of-attorney reference (PIPA Art. 38).")
@in_app
def requests_register(
    subject: str,
    kind: str,
    channel: str,
    scope: str | None,
    purposes: tuple[str, ...],
    items: tuple[str, ...],
    officer: str | None,
    identity_check: str | None,
    requester: str | None,
    agent_reference: str | None,
) -> None:
    """Register a written or emailed request at once (a withdrawal also executes at once)."""
    req = desk.register(
        app_services(),
        _operator(officer),
        subject=subject,
        kind=kind,
        channel=channel,
        scope=scope,
        purposes=list(purposes),
        identity_check=identity_check,
        requester=requester,
        agent_reference=agent_reference,
        items=list(items),
    )
    echo_result(json.dumps(req, ensure_ascii=False, indent=2))


def _value_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--value ITEM=VALUE`` (repeatable) and ``--by-hand``: a correction's new values."""
    command = click.option(
        "--by-hand", is_flag=True, help="A correction the officer made themselves (a source that cannot correct)."
    )(command)
    return click.option(
        "--value",
        "values",
        multiple=True,
        metavar="ITEM=VALUE",
        help="A correction's new value (repeatable); ITEM=- reads it from a line of stdin, out of the shell history.",
    )(command)


def _parse_values(values: tuple[str, ...]) -> dict[str, str] | None:
    new: dict[str, str] = {}
    problems = []
    for given in values:
        item, eq, value = given.partition("=")
        if not eq or not item:
            problems.append(f"--value: expected ITEM=VALUE, not {item or given[:20]!r}=...")
            continue
        new[item] = sys.stdin.readline().rstrip("\r\n") if value == "-" else value
    if problems:
        raise click.UsageError("; ".join(problems))
    return new or None


@requests_group.command("complete")
@click.argument("request_id")
@click.option("--officer", default=None)
@_value_options
@in_app
def requests_complete(request_id: str, officer: str | None, values: tuple[str, ...], by_hand: bool) -> None:
    """Carry out a request (erase for stop/delete; correct; tell the member an access request is ready)."""
    new = _parse_values(values)
    req = desk.complete(app_services(), request_id, _operator(officer), values=new, by_hand=by_hand)
    echo_result(json.dumps(req, ensure_ascii=False, indent=2))


@requests_group.command("refuse")
@click.argument("request_id")
@click.option("--ground", required=True, help="A refusal ground id of the policy.")
@click.option("--reason", required=True, help="The explanation the member receives.")
@click.option(
    "--withhold", "withheld", multiple=True, help="Access: withhold only this item or source:NAME (repeatable)."
)
@click.option("--officer", default=None)
@in_app
def requests_refuse(request_id: str, ground: str, reason: str, withheld: tuple[str, ...], officer: str | None) -> None:
    """Refuse on a ground the law gives the request's kind; nothing is erased; the member
    is told how to object. With --withhold, an access request is answered except those parts."""
    req = desk.refuse(
        app_services(), request_id, _operator(officer), ground=ground, reason=reason, withheld=list(withheld)
    )
    echo_result(json.dumps(req, ensure_ascii=False, indent=2))


@requests_group.command("postpone")
@click.argument("request_id")
@click.option("--until", required=True, help="The new date (YYYY-MM-DD, or an ISO-8601 date-time).")
@click.option("--reason", required=True, help="The just reason the member is told (PIPA Art. 35(3)).")
@click.option("--officer", default=None)
@in_app
def requests_postpone(request_id: str, until: str, reason: str, officer: str | None) -> None:
    """Postpone an access request, within its 10 days, and tell the member why and until when."""
    req = desk.postpone(app_services(), request_id, _operator(officer), until=until, reason=reason)
    echo_result(json.dumps(req, ensure_ascii=False, indent=2))


@requests_group.command("object")
@click.argument("request_id")
@click.option("--statement", required=True, help="What the member objects to (이의제기).")
@click.option("--channel", required=True, type=click.Choice(["email", "written"]))
@click.option("--officer", default=None)
@in_app
def requests_object(request_id: str, statement: str, channel: str, officer: str | None) -> None:
    """Register a written or emailed objection to a refusal, limitation or postponement."""
    req = desk.object_to(app_services(), request_id, _operator(officer), statement=statement, channel=channel)
    echo_result(json.dumps(req, ensure_ascii=False, indent=2))


@requests_group.command("decide-objection")
@click.argument("request_id")
@click.option("--decision", required=True, type=click.Choice(DECISIONS))
@click.option("--reason", required=True, help="The reason the member receives.")
@click.option("--officer", default=None)
@_value_options
@in_app
def requests_decide_objection(
    request_id: str, decision: str, reason: str, officer: str | None, values: tuple[str, ...], by_hand: bool
) -> None:
    """Decide the open objection: upheld carries the request out now (a refused correction
    with its --value ITEM=VALUE or --by-hand); dismissed keeps the decision. Run again
    on an upheld objection whose request is still open, it carries the request out."""
    new = _parse_values(values)
    req = desk.decide_objection(
        app_services(), request_id, _operator(officer), decision=decision, reason=reason, values=new, by_hand=by_hand
    )
    echo_result(json.dumps(req, ensure_ascii=False, indent=2))


@privacy_cli.command("export")
@click.argument("subject")
@click.option("--reason", default=None, help="Why the data is exported (required; kept in the access record).")
@click.option("--officer", default=None)
@in_app
def export_command(subject: str, reason: str | None, officer: str | None) -> None:
    """Everything held about SUBJECT, as JSON (writes an operator access record with --reason)."""
    data = desk.export(app_services(), subject, _operator(officer), reason=reason)
    echo_result(json.dumps(data, ensure_ascii=False, indent=2))


@privacy_cli.command("outbox")
@click.option("--send", is_flag=True, help="Send every notice that is due now (the worker does this on schedule).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def outbox_command(send: bool, fmt: str) -> None:
    """Notices to members not delivered yet, or never; with --send, send what is due."""
    services = app_services()
    sent = deliver_due(services) if send else None
    rows = undelivered(services)
    if fmt == "json":
        echo_result(json.dumps({"delivery": asdict(sent) if sent else None, "undelivered": rows}, ensure_ascii=False))
        return
    if sent is not None:
        echo_result(f"sent {sent.sent}, failed {sent.failed} (retried later), expired {sent.expired}")
    for r in rows:
        echo_result(
            f"{r['status']:<8} {r['kind']:<22} request={r['request_id'] or '-'} attempts={r['attempts']} "
            f"error={r['last_error'] or '-'}"
        )
    if not rows:
        echo_result("every notice has been delivered")


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
@click.option("--approved-by", "approved_by", default=None, help="Who approved the destruction, for the ledger.")
@in_app
def purge_command(
    now_text: str | None,
    dry_run: bool,
    batch_size: int,
    classes: tuple[str, ...],
    fmt: str,
    history: bool,
    vacuum: bool,
    executor: str | None,
    approved_by: str | None,
) -> None:
    """Destroy everything past its retention and write the destruction ledger.

    Exit status: 0 done (or nothing to do), 1 bad arguments, 2 usage error.
    """
    services = app_services()
    tz = services.policy.tz
    if history:
        rows = destruction_history(services)
        if fmt == "json":
            echo_result(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                echo_result(
                    f"{r['ran_at']}  {r['retention']:<20} {r['count']:>8}  {r['target']:<18} "
                    f"{r['executor']}  approved={r['approved_by'] or '-'}  run={r['run_id'][:8]}  {r['method']}"
                )
            if not rows:
                echo_result("the destruction ledger is empty")
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
        approved_by=approved_by,
    )
    data = report.to_dict(tz)
    if fmt == "json":
        echo_result(json.dumps(data, ensure_ascii=False))  # one line per run: cron appends them to a .jsonl file
        return
    title = "dry run: nothing changed" if dry_run else f"run {report.run_id}"
    echo_result(f"purge at {data['now']} ({title})")
    echo_result(f"{'retention class':<22}{'destroyed':>10}{'kept':>10}  next expiry")
    for c in data["classes"]:
        echo_result(f"{c['retention']:<22}{c['destroyed']:>10}{c['kept']:>10}  {c['next_expiry'] or '-'}")
    echo_result(f"{'total':<22}{data['destroyed']:>10}")
