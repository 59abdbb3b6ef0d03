"""The buffered, lossless writer of access events.

Requests hand events to a bounded queue; a background thread writes them in
batches, after ``linger_seconds`` or as soon as a batch is full, waits for flushes
and replays the spool. With ``inline``, while the database answers, requests write
the batches themselves: the one that fills a batch, or that finds the oldest row
``linger_seconds`` old (no thread switch, but that request waits for the commit);
the thread only sweeps, on a timer, what is left when requests stop coming. A
full queue blocks the request (backpressure) instead of dropping. If the database
is unreachable, batches go to an append-only spool file and are replayed,
idempotently by ``event_id``, once it answers again (:mod:`.spooling`). A
database that answers without the access-log table (never upgraded) is an error
said once, not an outage: its events wait in the spool too. Spool files are bound
to their database (:mod:`.spool`). The thread starts lazily in each process, so it
survives a forking server.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..storage.tables import access_log
from . import spool
from .bulk_insert import BulkInserter, Row, not_stored
from .spooling import Spooling

__all__ = ["AccessLogWriter"]

log = logging.getLogger("flask_casenote_privacy.writer")
# This process's id, kept by an at-fork hook: os.getpid() is a system call per request.
_process = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _process.__setitem__(0, os.getpid()))


class _TablesMissing(SQLAlchemyError):
    """The database answered, but has no access-log table: never upgraded."""


class AccessLogWriter(Spooling):
    """Writes access-log rows for one app; ``submit`` is called from requests."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        spool_dir: str | os.PathLike[str],
        *,
        batch_size: int = 500,
        queue_size: int = 10_000,
        synchronous: bool = False,
        retry_seconds: float = 5.0,
        idle_seconds: float = 2.0,
        linger_seconds: float = 0.25,
        inline: bool = False,
        database: URL | None = None,
    ) -> None:
        self._engine = engine
        self.spool_dir = Path(spool_dir)
        # The database these events are meant for (default: the engine's now): the
        # spool files are named for it, and only its files are ever replayed here.
        self.database = database if database is not None else engine().url
        self.spool_tag = spool.database_tag(self.database)
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.synchronous = synchronous
        self.retry_seconds = retry_seconds
        self.idle_seconds = idle_seconds
        # After the first row of a batch, wait this long for more (unless a flush
        # waits or a batch is full), so that one transaction carries many rows.
        # A full batch wakes the thread (or, inline, is written by its request) sooner.
        self.linger_seconds = linger_seconds
        self.inline = inline
        self._inserter = BulkInserter()
        self._reset()
        spool.warn_unbound(self.spool_dir, self.database, self.spool_tag)

    # -- per-process state ---------------------------------------------------------
    def _reset(self) -> None:
        """Fresh queue, counters and no thread: at start and in a forked child."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._spool_lock = threading.Lock()
        self._replay_lock = threading.Lock()  # one replaying thread per process (synchronous mode)
        self._done = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._full_waiters = 0  # submits waiting for room (backpressure)
        self._queue: deque[Row] = deque()  # at most queue_size rows; one lock for everything
        self._thread: threading.Thread | None = None
        self._submitted = 0
        self._finished = 0
        self._flush_target = 0  # a flush waits until _finished reaches this: no lingering
        self._wake = threading.Event()  # rows arrived, a batch is full, or a flush waits
        self._wake_at = max(1, min(self.batch_size, self.queue_size))
        self._oldest_at = 0.0  # monotonic time the oldest queued row arrived (about)
        self._down_until = 0.0  # monotonic time before which the database is not retried
        self._schema_missing = False  # said once; cleared when a write succeeds again
        self._failing = False  # a write failed, and none begun since has succeeded
        self._failures = 0  # failed writes so far: a write begun before the last one proves nothing
        self._spool_file = spool.new_name(self.spool_dir, self.spool_tag)
        self._closing = False
        self.stats = {"written": 0, "spooled": 0, "replayed": 0}

    def after_fork_in_child(self) -> None:
        # Events queued in the parent are the parent's to write; the child starts empty.
        self._reset()

    # -- the request side ----------------------------------------------------------
    def submit(self, row: Row) -> None:
        """Hand one row over; blocks while the queue is full, never drops."""
        if _process[0] != self._pid:
            self._reset()
        if self.synchronous:
            self._deliver([row])
            return
        queue = self._queue
        with self._lock:
            self._submitted += 1
            if self._thread is None:  # the thread clears it as it ends, however it ends
                self._start_thread()
            while len(queue) >= self.queue_size:
                # Backpressure: wait for the writer, never drop.
                self._wake.set()
                self._full_waiters += 1
                try:
                    self._not_full.wait(timeout=1.0)
                finally:
                    self._full_waiters -= 1
                if self._thread is None or not self._thread.is_alive():
                    self._start_thread()
            queue.append(row)
            if len(queue) == 1:
                self._oldest_at = time.monotonic()
            batch = self._take_inline_batch()
            # The writer waits for a first row, or lingers until a batch is full. Inline,
            # it is not woken at all while requests write (other requests' batches in
            # flight included): a thread made runnable while the request loop holds the
            # GIL waits for it, and is woken in vain at every release.
            inline = batch is not None or self._inline_now()
            wake = not inline and (len(queue) == 1 or self._submitted - self._finished >= self._wake_at)
        if wake and not self._wake.is_set():
            self._wake.set()
        if batch is not None:
            self._write_taken(batch, replay=False)

    def _inline_now(self) -> bool:
        """Requests write batches: inline, while the database is believed up. After a
        failed write the thread alone writes (and retries) until one succeeds again: a
        request never waits on an outage twice, nor on a server still down."""
        return self.inline and not self._failing and time.monotonic() >= self._down_until

    def _take_inline_batch(self) -> list[Row] | None:
        """Inline, a batch for the submitting request to write itself: a full one, or
        the rows queued since ``linger_seconds`` ago (the caller holds ``_lock``)."""
        queue = self._queue
        if not self._inline_now():
            return None
        if len(queue) < self._wake_at and time.monotonic() - self._oldest_at < self.linger_seconds:
            return None
        return self._take(self.batch_size)

    def _take(self, most: int) -> list[Row]:
        """Up to ``most`` rows off the queue (the caller holds ``_lock``)."""
        queue = self._queue
        batch = [queue.popleft() for _ in range(min(len(queue), most))]
        if queue:  # their arrival is not kept: counted from now, they wait at most one linger more
            self._oldest_at = time.monotonic()
        if self._full_waiters:
            self._not_full.notify_all()
        return batch

    def _write_taken(self, batch: list[Row], *, replay: bool = True) -> None:
        """Deliver rows taken from the queue and count them finished; never raises."""
        try:
            self._deliver(batch, replay=replay)
        except Exception:
            log.exception("privacy writer failed to deliver %d access events", len(batch))
        except BaseException:
            # The process is being stopped mid-write (a worker's timeout, SystemExit):
            # spool the batch (replayed idempotently, had it been committed) and go on
            # stopping.
            try:
                self._spool(batch)
            except Exception:
                log.exception("privacy writer could not spool %d access events", len(batch))
            raise
        finally:
            with self._done:
                self._finished += len(batch)
                if self._full_waiters:
                    self._not_full.notify_all()
                self._done.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row submitted so far is in the database or the spool."""
        if os.getpid() != self._pid:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._done:
            target = self._submitted
            if self._flush_target < target:
                self._flush_target = target
            self._wake.set()
            while self._finished < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if self._thread is None or not self._thread.is_alive():  # never wait on a dead thread
                    self._start_thread()
                self._done.wait(timeout=min(remaining or 0.5, 0.5))
        return True

    def close(self, timeout: float | None = 30) -> bool:
        """Flush, then stop the writer thread (a later ``submit`` starts a new one).
        Returns False if the flush did not finish within ``timeout`` seconds."""
        if os.getpid() != self._pid:
            return True
        done = self.flush(timeout)
        with self._lock:
            self._closing = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._closing = False
        return done

    def _start_thread(self) -> None:
        """Start the writer thread; the caller holds ``_lock`` (the thread cannot end first)."""
        thread = threading.Thread(target=self._run, name="privacy-writer", daemon=True)
        thread.start()
        self._thread = thread

    # -- the writer thread -----------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        finally:  # however it ends: submit only checks that _thread is set
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _loop(self) -> None:
        queue = self._queue
        while True:
            if not queue and self._closing:
                with self._lock:
                    if self._finished >= self._submitted and not queue:
                        self._thread = None
                        return
                    if not queue:  # a request's inline batch is still being written
                        self._done.wait(0.05)
                        continue
            if not queue:
                wait = self.retry_seconds if self._spool_pending() else self.idle_seconds
                self._wake.clear()
                # submit appends, and close sets _closing, before it sets _wake: no row
                # and no close is missed between the checks (a missed close waited `wait`).
                if queue or self._closing or self._wake.wait(wait):
                    continue
                if self._spool_pending():
                    self._try_replay()
                    continue
                with self._lock:
                    # Idle with nothing outstanding: end; the next submit starts a new thread.
                    if self._finished >= self._submitted and not queue:
                        self._thread = None
                        return
                continue
            self._linger()
            with self._lock:
                batch = self._take(self.batch_size)
            if batch:
                self._write_taken(batch)

    def _linger(self) -> None:
        """Give a batch time to fill, unless a flush is waiting or a batch is already full."""
        if self.linger_seconds <= 0:
            return
        self._wake.clear()
        # submit and flush change these before they set _wake: no wake-up is missed.
        if self._finished < self._flush_target:
            return
        if self._submitted - self._finished >= self._wake_at:
            return
        if not self._inline_now():
            self._wake.wait(self.linger_seconds)
            return
        # Inline: the requests write; sweep only rows left once they stop coming (twice
        # the linger old), checking at that pace and no oftener.
        while self._queue and not self._closing and self._finished >= self._flush_target and self._inline_now():
            wait = self._oldest_at + 2 * self.linger_seconds - time.monotonic()
            if wait <= 0 or self._wake.wait(max(wait, self.linger_seconds)):
                return
            if self._spool_pending():  # requests never replay: under steady load, the thread does
                self._try_replay()

    def _deliver(self, batch: list[Row], *, replay: bool = True) -> None:
        if time.monotonic() >= self._down_until:
            begun_after = self._failures
            try:
                self._insert(batch)
                self._written_again(begun_after)
                with self._lock:  # requests and the thread both deliver
                    self.stats["written"] += len(batch)
                if replay and self._spool_pending():
                    self._try_replay()
                return
            except SQLAlchemyError as exc:
                self._failed(exc)
        self._spool(batch)

    def _failed(self, exc: SQLAlchemyError, *, replaying: bool = False) -> None:
        """After a failed write: no retry for a while, and say why (an outage once per
        failed batch, as before; a missing schema once until it is there)."""
        self._down_until = time.monotonic() + self.retry_seconds
        self._failing = True
        self._failures += 1
        if not isinstance(exc, _TablesMissing):
            if not replaying:
                log.warning("privacy database unreachable, spooling access events: %s", type(exc).__name__)
            return
        if self._schema_missing:
            return  # said once: no line per batch until someone runs the upgrade
        self._schema_missing = True
        # A spool forever "unreachable" hid this; the events are not lost, and not
        # given to any other database (the spool is bound to this one).
        log.error(
            "privacy database %s answers but has no %s table: run `flask privacy db upgrade`. "
            "Access events are kept in the spool %s (files access-%s-*.jsonl, bound to this "
            "database) and written once the tables exist",
            self.database.render_as_string(hide_password=True),
            access_log.name,
            self.spool_dir,
            self.spool_tag,
        )

    def _written_again(self, begun_after: int) -> None:
        """A write begun when ``_failures`` was ``begun_after`` succeeded."""
        if begun_after == self._failures:
            self._failing = False
        if self._schema_missing:
            self._schema_missing = False
            log.info("privacy database %s has its tables now", self.database.render_as_string(hide_password=True))

    def _insert(self, rows: list[Row], *, idempotent: bool = False) -> None:
        # Failing to connect is an outage. Failing once connected, the same connection
        # asks whether the table is there at all: each driver words "no such table" its
        # own way, and asking costs no second connection attempt to a dead server.
        with self._engine().connect() as conn:
            try:
                with conn.begin():
                    self._insert_in(conn, rows, idempotent)
            except SQLAlchemyError as exc:
                if not inspect(conn).has_table(access_log.name):
                    # Not str(exc): it carries the statement's parameters, the events themselves.
                    raise _TablesMissing(f"no {access_log.name} table") from exc
                raise

    def _insert_in(self, conn: Connection, rows: list[Row], idempotent: bool) -> None:
        if idempotent:
            rows = not_stored(conn, rows)
        if rows:
            try:
                with conn.begin_nested():
                    self._inserter.insert(conn, rows)
            except IntegrityError:
                if idempotent:
                    raise
                # A batch committed before a connection error was reported: write what is missing.
                missing = not_stored(conn, rows)
                if missing:
                    self._inserter.insert(conn, missing)
