"""``flask privacy policy history | diff OLD NEW | announce``: the recorded versions,
what changed between two, and telling the members whose consent a change voids."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from ..errors import PolicyError
from ..policy.diff import diff_policies, render_diff
from ..policy.loader import load_policy
from ..rights.announce import announce
from ..storage.policy_history import find_version, list_versions
from .common import app_services, echo_result, in_app

__all__ = ["add_history_commands"]


def _document(spec: str, label: str, problems: list[str]) -> dict[str, Any] | None:
    """A policy JSON from a recorded version's number, a policy file or a preset."""
    if spec.isascii() and spec.isdigit():
        version = find_version(app_services().databases.main, int(spec))
        if version is None:
            known = ", ".join(str(v.id) for v in list_versions(app_services().databases.main)) or "none"
            problems.append(f"{label}: no recorded version {spec} (recorded: {known})")
            return None
        return version.document
    try:
        return load_policy(spec).to_dict()
    except PolicyError as exc:
        problems.append(f"{label}: {spec}: " + "; ".join(exc.problems))
        return None


def _fail(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    raise SystemExit(1)


@click.command("history")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def history_command(fmt: str) -> None:
    """List every recorded version of the policy, oldest first."""
    versions = [v.summary() for v in list_versions(app_services().databases.main)]
    if fmt == "json":
        echo_result(json.dumps(versions, ensure_ascii=False, indent=2))
        return
    for v in versions:
        echo_result(
            f"{v['id']:>4}  version {v['version']:<16} effective {v['effective_date']}  recorded {v['recorded_at']}"
        )
    if not versions:
        echo_result("no version recorded yet: run `flask privacy upgrade`")


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--lang", default=None, help="Language of the text (default: PRIVACY_DEFAULT_LANGUAGE).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def diff_command(old: str, new: str, lang: str | None, fmt: str) -> None:
    """What changed from OLD to NEW: each a recorded version's number (see `policy
    history`), a policy file's path or a preset's name. `[!]` marks a change that
    matters to members."""
    problems: list[str] = []
    lang = lang or app_services().settings.default_language
    if lang not in ("ko", "en"):
        problems.append(f"--lang: {lang!r}; the diff is written in: ko, en")
    before, after = _document(old, "OLD", problems), _document(new, "NEW", problems)
    if problems or before is None or after is None:
        _fail(problems)
        return
    diff = diff_policies(before, after)
    if fmt == "json":
        echo_result(json.dumps(diff.to_dict(), ensure_ascii=False, indent=2))
        return
    echo_result(render_diff(diff, lang))


@click.command("announce")
@click.option("--dry-run", is_flag=True, help="Say who would be told; send nothing, record nothing.")
@click.option("--now", "now_text", default=None, help="Decide as if it were this ISO-8601 instant (default: now).")
@click.option("--late", is_flag=True, help="Tell members even though the lead time before the effective date is short.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def announce_command(dry_run: bool, now_text: str | None, late: bool, fmt: str) -> None:
    """Mail the members whose consent the policy in force voids from its effective
    date (each once), at least 7 days before it (30 for a change that matters to
    members). Exit status: 0 done, 1 refused or bad arguments."""
    services = app_services()
    now = None
    if now_text is not None:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
            if now.tzinfo is None:
                now = now.replace(tzinfo=services.policy.tz)  # a wall-clock time, on the policy's calendar
        except ValueError:
            _fail([f"--now: {now_text!r} is not an ISO-8601 date-time (e.g. 2027-03-01T00:00:00+09:00)"])
    result = announce(services, now=now, dry_run=dry_run, allow_late=late)
    data = result.to_dict()
    if fmt == "json":
        echo_result(json.dumps(data, ensure_ascii=False, indent=2))
        return
    new, old = data["version"], data["previous"]
    echo_result(
        f"version {new['version']} (#{new['id']}), effective {new['effective_date']}"
        + ("" if old is None else f"; previous {old['version']} (#{old['id']})")
    )
    if old is None:
        echo_result("the first recorded version: nothing to announce")
        return
    kind = "matters to members" if data["material"] else "no change that matters to members"
    echo_result(f"{kind}; tell members {data['lead_days']} days before: by {data['notice_by']}")
    if data["late"]:
        echo_result(f"warning: the lead time is not met (today is past {data['notice_by']})")
    if not data["lapsing_purposes"]:
        echo_result("no consent lapses: publish the new policy on the policy page; no member needs a mail")
        return
    echo_result(f"consent lapses on {new['effective_date']} for: {', '.join(sorted(data['lapsing_purposes']))}")
    for member in data["members"]:
        echo_result(f"  member {member['member']}: {', '.join(member['purposes'])} ({member['status']})")
    if not data["members"]:
        echo_result("  no member has granted these purposes")
    if dry_run:
        echo_result("dry run: nothing sent, nothing recorded")


def add_history_commands(group: click.Group) -> None:
    for command in (history_command, diff_command, announce_command):
        group.add_command(command)
