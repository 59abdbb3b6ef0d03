"""The Casenote demo: a small legal-case search service using every capability of
flask-casenote-privacy the way a host app would.

    flask --app examples/casenote_demo run

Embedded SQLite in ``examples/casenote_demo/instance/``; tables are created on
start; ``flask --app examples/casenote_demo demo-data`` adds sample members.
"""

from .app import create_app

__all__ = ["create_app"]
