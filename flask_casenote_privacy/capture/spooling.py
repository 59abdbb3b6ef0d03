"""The writer's spool: batches the database could not take, appended to a file bound
to that database, and replayed into it, idempotently by ``event_id``, once it
answers again (:class:`Spooling`, a part of :class:`~.writer.AccessLogWriter`)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from . import spool
from .bulk_insert import Row

__all__ = ["Spooling"]

log = logging.getLogger("flask_casenote_privacy.writer")


class Spooling:
    """The spool half of the writer; the writer provides the database side."""

    spool_dir: Path
    spool_tag: str
    batch_size: int
    stats: dict[str, int]
    _pid: int
    _down_until: float
    _spool_file: Path
    _spool_lock: threading.Lock
    _replay_lock: threading.Lock

    # The writer's own, which these methods call.
    _reset: Callable[[], None]
    _insert: Callable[..., None]  # (rows, *, idempotent=False)
    _failed: Callable[..., None]  # (exc, *, replaying=False)
    _written_again: Callable[[int], None]  # (begun_after: the failures counted when the write began)
    _failures: int

    def _spool(self, batch: Iterable[Row]) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(spool.to_json(row), ensure_ascii=False) + "\n" for row in batch)
        with self._spool_lock:
            while True:
                with open(self._spool_file, "a", encoding="utf-8") as f:
                    fcntl.flock(f, fcntl.LOCK_EX)
                    if not spool.still_named(f, self._spool_file):
                        continue  # a replay claimed (renamed) it after we opened it: open anew
                    f.write(lines)
                    f.flush()
                    os.fsync(f.fileno())
                    break
        self.stats["spooled"] += lines.count("\n")

    def _spool_pending(self) -> bool:
        return self.spool_dir.is_dir() and any(spool.bound_files(self.spool_dir, self.spool_tag))

    def replay_spool(self) -> int:
        """Replay this database's spool files now, unless another thread of this process
        is at it (``flask privacy worker`` calls it on schedule); never raises. Returns
        how many events were moved into the database."""
        if os.getpid() != self._pid:
            self._reset()
        before = self.stats["replayed"]
        self._try_replay()
        return self.stats["replayed"] - before

    def _try_replay(self) -> None:
        """Replay unless another thread of this process is at it; never raise."""
        if not self._replay_lock.acquire(blocking=False):
            return
        try:
            self._replay_spool()
        except Exception:  # a replay problem must not fail a request or the thread
            log.exception("privacy writer failed to replay the spool")
        finally:
            self._replay_lock.release()

    def _replay_spool(self) -> None:
        """Move spooled events into the database; stop at the first failure."""
        if time.monotonic() < self._down_until:
            return
        for path in sorted(spool.bound_files(self.spool_dir, self.spool_tag)):
            claimed = spool.claimed_name(path)
            try:
                path.rename(claimed)  # atomic: only one process replays a file
            except OSError:
                continue
            with open(claimed, "rb") as f:
                # Wait for an append that had the file open before the rename; later
                # appends see the file renamed and start a new one (see _spool).
                fcntl.flock(f, fcntl.LOCK_EX)
            rows = list(spool.read_spool(claimed))
            begun_after = self._failures
            try:
                for start in range(0, len(rows), self.batch_size):
                    self._insert(rows[start : start + self.batch_size], idempotent=True)
            except SQLAlchemyError as exc:
                # A fresh name: the old one may already name a new spool file of its writer.
                claimed.rename(spool.new_name(self.spool_dir, self.spool_tag))
                self._failed(exc, replaying=True)
                return
            self._written_again(begun_after)
            claimed.unlink()
            self.stats["replayed"] += len(rows)
            log.info("privacy writer replayed %d spooled access events from %s", len(rows), path.name)
