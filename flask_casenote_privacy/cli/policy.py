"""``flask privacy policy ...``: show, check, init (and history, diff, announce:
``policy_history.py``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import click
from flask import current_app, render_template
from flask.cli import NoAppException, ScriptInfo

from ..config import DEFAULTS
from ..errors import ConfigurationError, PolicyError
from ..policy.contents import extension_measures
from ..policy.grounds import ground_warnings
from ..policy.loader import load_policy, starter_policy
from ..policy.render import policy_context, template_variables
from ..policy.usage import usage_problems
from .common import app_services, echo_result, in_app
from .policy_history import add_history_commands

__all__ = ["policy_group"]


@click.group("policy")
def policy_group() -> None:
    """Show, check or start a policy."""


@policy_group.command("show")
@click.option("--lang", default=None, help="Language of the text (default: PRIVACY_DEFAULT_LANGUAGE).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def policy_show(lang: str | None, fmt: str) -> None:
    """Print the policy in force."""
    policy = app_services().policy
    if fmt == "json":
        echo_result(json.dumps(policy.to_dict(), ensure_ascii=False, indent=2))
        return
    lang = lang or app_services().settings.default_language
    if lang not in policy.languages:
        raise click.BadParameter(
            f"{lang!r}; this policy is available in: {', '.join(policy.languages)}", param_hint="--lang"
        )
    measures = extension_measures(app_services().settings)
    text = render_template("privacy/policy.txt", **template_variables(policy_context(policy, lang, measures)))
    echo_result(text.rstrip())


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
@click.pass_context
def policy_check(ctx: click.Context, path: str | None) -> None:
    """Validate a policy file (default: the configured policy); list every problem.

    A file passes only if ``init_app`` would start with it under this app's
    configuration: the file itself, and what the extension asks of it
    (the retention classes PRIVACY_CAPTURE_RETENTION and PRIVACY_PROVISION_RETENTION name).
    An app that cannot start yet (its PRIVACY_POLICY is the file being written) does
    not stop the check: the file is then checked under the default configuration."""
    config = _app_config(ctx, path)
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
    for warning in ground_warnings(policy):
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{source}: valid (version {policy.version}, {len(policy.items)} items, "
        f"{len(policy.purposes)} purposes, {len(policy.retention)} retention classes)"
    )


def _app_config(ctx: click.Context, path: str | None) -> Mapping[str, Any]:
    """The app's configuration; the defaults if the app cannot start and a file is named."""
    if current_app:
        return current_app.config
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except (ConfigurationError, NoAppException) as exc:
        cause = exc.__cause__
        if path is None and isinstance(cause, PolicyError):  # the app's own policy stops it
            _report_problems(cause.source, cause.problems)
        if path is None:
            raise
        refused = exc.key if isinstance(exc, ConfigurationError) else "no app"
        click.echo(
            f"note: the app does not start yet ({refused}); {path} is checked under the default configuration", err=True
        )
        return DEFAULTS
    ctx.with_resource(app.app_context())
    return app.config


add_history_commands(policy_group)  # history, diff, announce (cli/policy_history.py)


def _report_problems(source: str, problems: list[str]) -> NoReturn:
    click.echo(f"{source}: {len(problems)} problem(s)", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    raise SystemExit(1)
