"""The app's extension objects: made once at import, bound to each app in create_app()."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from flask_casenote_privacy import Privacy

db = SQLAlchemy()
csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate()  # migrations/env.py keeps the privacy tables out of autogenerate
privacy = Privacy()
