"""Maru Notes (주식회사 마루노트, a fictional company): a note-taking app built the way
Flask apps are (an app factory, blueprints, Flask-Login, Flask-Migrate, Flask-WTF,
its own standard-library logging) with flask-casenote-privacy wired in.

    export SECRET_KEY=...                                  # no default: the app refuses to start without it
    flask --app examples/factory_app db upgrade           # the app's own tables
    flask --app examples/factory_app privacy db upgrade   # the privacy tables, same database
    flask --app examples/factory_app run

docs/quickstart.md, part 2, walks through this code.
"""

import os

from flask import Flask, request
from flask_login import current_user

from flask_casenote_privacy.consent import ledger_grants

from . import auth, notes
from .commands import make_officer
from .extensions import csrf, db, login_manager, migrate, privacy
from .logging_setup import configure_logging
from .models import Note, Payment, User

HERE = os.path.dirname(os.path.abspath(__file__))


def create_app(config=None):
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH", os.path.join(HERE, "instance")))
    os.makedirs(app.instance_path, exist_ok=True)
    # One database for our tables and the privacy tables: SQLite here by default,
    # DATABASE_URL=postgresql+psycopg://... or mysql+pymysql://... in production.
    database = os.environ.get("DATABASE_URL", "sqlite:///" + os.path.join(app.instance_path, "marunotes.sqlite"))
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY"),  # signs sessions, forms, consent, links; no default
        PRIVACY_HASH_KEY=os.environ.get("PRIVACY_HASH_KEY"),  # None: derived from SECRET_KEY
        SQLALCHEMY_DATABASE_URI=database,
        PRIVACY_DATABASE_URI=database,
        # The separate archive (분리보관) of what the law makes us keep: never the main database.
        PRIVACY_ARCHIVE_DATABASE_URI=os.environ.get(
            "ARCHIVE_DATABASE_URL", "sqlite:///" + os.path.join(app.instance_path, "privacy-archive.sqlite")
        ),
        PRIVACY_POLICY=os.path.join(HERE, "privacy-policy.toml"),
        PRIVACY_EXTERNAL_URL=os.environ.get("EXTERNAL_URL", "http://127.0.0.1:5000"),  # links in mail start here
        PRIVACY_MAIL_SERVER=os.environ.get("SMTP_HOST"),  # unset: notices are logged, not sent
        PRIVACY_MAIL_PORT=int(os.environ.get("SMTP_PORT", "25")),
        PRIVACY_MAIL_SENDER="privacy@marunotes.example",
        LOG_FILE=os.path.join(app.instance_path, "marunotes.log"),
    )
    if config:  # tests pass their own databases, mail server, log file
        app.config.update(config)

    configure_logging(app.config["LOG_FILE"])
    db.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(HERE, "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    privacy.init_app(app)
    privacy.use_flask_login()  # the subject is current_user; a member who leaves is signed out
    register_privacy_data()

    app.register_blueprint(auth.bp)
    app.register_blueprint(notes.bp)
    app.context_processor(consent_banner)
    app.cli.add_command(make_officer)
    return app


def register_privacy_data():
    # Parents first: a withdrawal erases in reverse order (payments, notes, then the user).
    privacy.register_model(User, subject="id", items={"name": "name", "email": "email"}, export=["created_at"])
    privacy.register_model(Note, subject="user_id", items={"note": "body"}, export=["title", "created_at"])
    privacy.register_model(
        Payment, subject="user_id", retention="payment_record", occurred_at="paid_at", export=["plan", "amount"]
    )


@privacy.officer_loader
def current_officer():
    if current_user.is_authenticated and current_user.is_privacy_officer:
        return current_user.email
    return None


def consent_banner():
    def show():  # until the visitor or member has decided once
        if request.path.startswith("/privacy/") or request.cookies.get(privacy.services.consent_cookie.name):
            return False
        subject = privacy.current_subject()
        return subject is None or not ledger_grants(privacy.services.databases.main, subject)

    return {"show_consent_banner": show, "consent_purposes": privacy.policy.consent_purposes}
