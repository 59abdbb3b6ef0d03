"""``flask privacy ...``: the command-line face of the extension (commands only)."""

from __future__ import annotations

import json

import click
from flask import current_app, render_template
from flask.cli import with_appcontext

from .extension import Privacy
from .policy_file import PolicyError, load_policy
from .render import policy_context

__all__ = ["privacy_cli"]


def _privacy() -> Privacy:
    privacy: Privacy = current_app.extensions["privacy"]
    return privacy


@click.group("privacy")
def privacy_cli() -> None:
    """Privacy policy, requests, retention and destruction (flask-casenote-privacy)."""


@privacy_cli.group("policy")
def policy_group() -> None:
    """Show or check a policy."""


@policy_group.command("show")
@click.option("--lang", default=None, help="Language of the text (default: the policy's first).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@with_appcontext
def policy_show(lang: str | None, fmt: str) -> None:
    """Print the policy in force."""
    policy = _privacy().policy
    if fmt == "json":
        click.echo(json.dumps(policy.to_dict(), ensure_ascii=False, indent=2))
        return
    lang = lang or policy.default_language
    if lang not in policy.languages:
        raise click.BadParameter(
            f"{lang!r}; this policy is available in: {', '.join(policy.languages)}", param_hint="--lang"
        )
    click.echo(render_template("privacy/policy.txt", **policy_context(policy, lang)).rstrip())


@policy_group.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@with_appcontext
def policy_check(path: str | None) -> None:
    """Validate a policy file (default: the configured policy); list every problem."""
    source = path if path is not None else current_app.config["PRIVACY_POLICY"]
    try:
        policy = load_policy(source)
    except PolicyError as exc:
        click.echo(f"{exc.source}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"{source}: valid (version {policy.version}, {len(policy.items)} items, "
        f"{len(policy.purposes)} purposes, {len(policy.retention)} retention classes)"
    )


@privacy_cli.group("db")
def db_group() -> None:
    """The extension's two databases."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create or upgrade the tables of the main and archive databases (safe to repeat)."""
    privacy = _privacy()
    for result in privacy.upgrade():
        url = privacy.databases.main_url if result.database == "main" else privacy.databases.archive_url
        state = f"{result.before or 'empty'} -> {result.after}" if result.changed else f"at {result.after}"
        click.echo(f"{result.database} database ({url.render_as_string(hide_password=True)}): {state}")
