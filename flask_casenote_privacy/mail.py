"""Sending mail by SMTP (``PRIVACY_MAIL_*``): the transport only; what is sent and
when is decided in ``rights/notifications.py``.

Without ``PRIVACY_MAIL_SERVER`` a message is written to the log as an event,
without the address. Addresses are used to send and never stored here.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

__all__ = ["MailSettings", "Mailer"]

# Standard logging, like the writer's: the host decides where it goes, and
# command-line output (JSON on stdout) stays clean.
log = logging.getLogger("flask_casenote_privacy.mail")


@dataclass(frozen=True)
class MailSettings:
    server: str | None
    port: int
    sender: str
    use_tls: bool  # STARTTLS
    use_ssl: bool  # SMTP over TLS from the first byte
    username: str | None
    password: str | None
    timeout: float


def _nothing() -> None:
    pass


class Mailer:
    """Sends one message (``send``), and runs delivery jobs on one background thread
    (``run_soon``): a request hands its notices to the outbox and returns at once,
    whatever the SMTP server does."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._running = False  # a job is in hand on the mail thread
        self._again = False  # ...and another run was asked for meanwhile
        self._next: Callable[[], None] = _nothing

    def send(self, to: str, subject: str, body: str, *, kind: str) -> None:
        """Send now; raises on any SMTP or network failure (the outbox retries)."""
        s = self.settings
        if not s.server:
            log.info("privacy mail not sent (PRIVACY_MAIL_SERVER unset): kind=%s", kind)
            return
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=s.sender.rsplit("@", 1)[-1])
        message.set_content(body, charset="utf-8")
        smtp_class = smtplib.SMTP_SSL if s.use_ssl else smtplib.SMTP
        with smtp_class(s.server, s.port, timeout=s.timeout) as smtp:
            if s.use_tls and not s.use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(message)
        log.info("privacy mail sent: kind=%s", kind)

    def run_soon(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the mail thread. Calls coalesce: while a job runs, another
        call only asks for one more run (of the latest job), so the queue never grows."""
        with self._lock:
            self._next = job
            if self._running:
                self._again = True
                return
            self._running = True
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="privacy-mail")
            self._pending = self._pool.submit(self._run)

    def _run(self) -> None:
        while True:
            with self._lock:
                job, self._again = self._next, False
            try:
                job()
            except Exception as exc:  # the outbox keeps the notices; the next run retries
                log.error("privacy mail delivery failed: error=%s", type(exc).__name__)
            with self._lock:
                if not self._again:
                    self._running = False
                    return

    def flush(self, timeout: float | None = 30) -> None:
        """Wait for the delivery job in hand (tests and the end of a CLI command)."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            pending.result(timeout=timeout)
