"""The spool's files: access events waiting for their database, as JSON lines.

Each file is bound to the database its events are meant for: its name is
``access-<tag>-<pid>-<ns>.jsonl``, the tag a hash of that database (backend,
host, port and database name, or an SQLite file's real path; never the
credentials or the driver). A writer replays only the files of its own tag, so
two configurations sharing a spool directory (a test run and the development
server, say) never write each other's events. While a process replays a file it
is renamed ``….jsonl.replaying-<pid>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from .bulk_insert import DATETIME_COLUMNS, Row

__all__ = [
    "bound_files",
    "claimed_name",
    "database_tag",
    "new_name",
    "pid_alive",
    "read_spool",
    "still_named",
    "to_json",
    "unbound_files",
    "warn_unbound",
]

log = logging.getLogger("flask_casenote_privacy.writer")

_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# Files of versions before the binding: access-<pid>-<ns>.jsonl, no database named.
_UNBOUND = re.compile(r"^access-\d+-\d+\.jsonl(\.replaying-\d+)?$")


def database_tag(url: URL) -> str:
    """The tag of the database ``url`` names; the same for every URL naming it, so
    hosts (and roles) of one deployment spool under one tag."""
    backend = url.get_backend_name().replace("mariadb", "mysql")  # one server, two dialect names
    if backend == "sqlite":
        database = url.database or ""
        where = os.path.realpath(database) if database and database != ":memory:" else database
        identity = f"sqlite\x1f{where}"
    else:
        port = url.port or _DEFAULT_PORTS.get(backend)
        identity = f"{backend}\x1f{url.host or 'localhost'}\x1f{port or ''}\x1f{url.database or ''}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def new_name(directory: Path, tag: str) -> Path:
    """A fresh file name for this process (never one a replay may still be using)."""
    return directory / f"access-{tag}-{os.getpid()}-{time.time_ns()}.jsonl"


def claimed_name(path: Path) -> Path:
    return path.with_name(path.name.split(".jsonl")[0] + f".jsonl.replaying-{os.getpid()}")


def bound_files(directory: Path, tag: str) -> Iterator[Path]:
    """The files of database ``tag`` waiting for a replay: written ones, and ones
    whose replaying process died half-way (taken over)."""
    for path in directory.glob(f"access-{tag}-*.jsonl*"):
        written = path.suffix == ".jsonl"
        if written or (".replaying-" in path.name and not pid_alive(int(path.name.rsplit("-", 1)[1]))):
            yield path


def unbound_files(directory: Path) -> list[Path]:
    """Files of an older version, which name no database: never replayed on a guess."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("access-*.jsonl*") if _UNBOUND.match(p.name))


def to_json(row: Row) -> Row:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def read_spool(path: Path) -> Iterable[Row]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.endswith("\n"):
                # A line cut by a crash mid-write was never acknowledged as durable.
                log.warning("privacy writer skipped a torn line %d in %s", number, path.name)
                continue
            row = json.loads(line)
            for key in DATETIME_COLUMNS:
                row[key] = datetime.fromisoformat(row[key])
            yield row


def still_named(f: Any, path: Path) -> bool:
    """Whether ``path`` still names the open file ``f`` (not renamed away since it was opened)."""
    try:
        return os.path.samestat(os.fstat(f.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def warn_unbound(directory: Path, database: URL, tag: str) -> None:
    """Files of an older version name no database: say so rather than guess."""
    unbound = unbound_files(directory)
    if unbound:
        log.warning(
            "privacy spool %s holds %d file(s) of an older version that name no database; they are "
            "not replayed. If they belong to %s, rename each access-<pid>-<n>.jsonl to "
            "access-%s-<pid>-<n>.jsonl",
            directory,
            len(unbound),
            database.render_as_string(hide_password=True),
            tag,
        )
