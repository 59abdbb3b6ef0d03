"""What every ``flask privacy`` command shares: the app's services, its result alone
on stdout, and a domain error said on stderr with exit status 1."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

import click
from flask.cli import with_appcontext

from ..errors import PrivacyError
from ..services import Services, current_services

__all__ = ["F", "app_services", "domain_errors", "echo_result", "in_app"]

F = TypeVar("F", bound=Callable[..., Any])


def app_services() -> Services:
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


def in_app(command: F) -> F:
    """Every command: in the app's context, its result alone on stdout, and a domain
    error said on stderr with exit status 1."""
    return with_appcontext(_clean_stdout(domain_errors(command)))


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
                app_services().mailer.flush(timeout=None)
                return outcome
            finally:
                del meta[_RESULTS]

    return wrapped  # type: ignore[return-value]


def echo_result(text: str) -> None:
    """A line of the command's result (:func:`_clean_stdout`)."""
    click.echo(text, file=click.get_current_context().meta.get(_RESULTS))


def domain_errors(command: F) -> F:
    """A domain error is the user's mistake or a refused action: say why, exit 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PrivacyError as exc:
            click.echo(f"error: {exc.message}", err=True)
            raise SystemExit(1) from None

    return wrapped  # type: ignore[return-value]
