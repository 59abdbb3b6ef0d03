"""Alembic environment of the main privacy database (run by `flask privacy db upgrade`)."""

from alembic import context

from flask_casenote_privacy.storage.migrate import VERSION_TABLE
from flask_casenote_privacy.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
