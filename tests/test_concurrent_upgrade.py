"""Several processes upgrading the same fresh databases at once (gunicorn workers that
each call ``privacy.upgrade()`` at start, a deploy on every host) all succeed: each
waits for the one before. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import URL

from flask_casenote_privacy.storage import tables
from flask_casenote_privacy.storage.migrate import current_revision, head_revision

pytestmark = pytest.mark.slow

UPGRADER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from flask import Flask
    from flask_casenote_privacy import Privacy

    app = Flask("upgrader", instance_path=os.environ["INSTANCE"])
    app.config.update(
        TESTING=True, SECRET_KEY="s", PRIVACY_DATABASE_URI=os.environ["MAIN"],
        PRIVACY_ARCHIVE_DATABASE_URI=os.environ["ARCHIVE"], PRIVACY_CAPTURE=False,
    )
    privacy = Privacy(app)
    go = Path(os.environ["GO"])
    while not go.exists():  # start together
        time.sleep(0.001)
    with app.app_context():
        privacy.upgrade()
    print("upgraded")
    """
)


def test_four_processes_upgrading_fresh_databases_at_once_all_succeed(
    database_urls: tuple[URL, URL], tmp_path: Path
) -> None:
    main, archive = database_urls
    go = tmp_path / "go"
    env = {
        **os.environ,
        "MAIN": main.render_as_string(hide_password=False),
        "ARCHIVE": archive.render_as_string(hide_password=False),
        "GO": str(go),
        "INSTANCE": str(tmp_path / "instance"),
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", UPGRADER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    time.sleep(1.5)  # every worker imported and waiting
    go.touch()
    outcomes = [w.communicate(timeout=120) for w in workers]
    for worker, (out, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err.decode()[-2000:]
        assert out.decode().strip() == "upgraded"
    engine = create_engine(main)
    try:
        assert current_revision(engine) == head_revision("main")
        with engine.connect() as conn:  # the policy text recorded once, not four times
            assert conn.execute(select(func.count()).select_from(tables.policy_versions)).scalar_one() == 1
    finally:
        engine.dispose()
    archive_engine = create_engine(archive)
    try:
        assert current_revision(archive_engine) == head_revision("archive")
    finally:
        archive_engine.dispose()
