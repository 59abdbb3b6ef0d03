"""Sending mail by SMTP (``PRIVACY_MAIL_*``): the transport only; what is sent and
when is decided in ``rights/notifications.py``.

Without ``PRIVACY_MAIL_SERVER`` a message is written to the log as an event,
without the address. Addresses are used to send and never stored here.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
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


class Mailer:
    """Sends one message per notification; ``send_later`` keeps the caller's
    timing independent of the SMTP server (no account enumeration by timing)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    def send(self, to: str, subject: str, body: str, *, kind: str) -> None:
        s = self.settings
        if not s.server:
            log.info("privacy mail not sent (PRIVACY_MAIL_SERVER unset): kind=%s subject=%s", kind, subject)
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

    def send_later(self, to: str, subject: str, body: str, *, kind: str) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="privacy-mail")
        future = self._pool.submit(self._send_logged, to, subject, body, kind)
        self._pending = [f for f in self._pending if not f.done()] + [future]

    def _send_logged(self, to: str, subject: str, body: str, kind: str) -> None:
        try:
            self.send(to, subject, body, kind=kind)
        except Exception as exc:
            log.error("privacy mail failed: kind=%s error=%s", kind, type(exc).__name__)

    def flush(self, timeout: float | None = 30) -> None:
        """Wait for messages handed to :meth:`send_later` (tests call it)."""
        for future in list(self._pending):
            future.result(timeout=timeout)
        self._pending = []
