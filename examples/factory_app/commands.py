"""The app's own CLI commands (beside `flask db ...` and `flask privacy ...`)."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .extensions import db
from .models import User


@click.command("make-officer")
@click.argument("email")
@with_appcontext
def make_officer(email):
    """Let the member with EMAIL use the privacy officer's pages (/privacy/officer/)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException("no member has that email")
    user.is_privacy_officer = True
    db.session.commit()
    click.echo(f"member {user.id} is now the privacy officer")
