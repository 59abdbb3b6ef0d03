"""Signals the host can connect to (blinker, as Flask's own signals).

``member_withdrawn`` is sent once a member has left: a withdrawal of everything
(web, emailed link or officer intake) or a deletion request the officer completed
has been carried out, their data erased or archived, and their identity ended.
The sender is the app; the keyword arguments are

- ``subject``: the host's id of the member who left ("41");
- ``identity``: their identity in the extension's records (see ``storage/incarnations.py``);
- ``request_id``: the completed request.

The usual receiver signs the member out, so that the browser that left does not
stay signed in as a user whose row is gone::

    from flask_casenote_privacy.signals import member_withdrawn

    @member_withdrawn.connect_via(app)
    def sign_out(app, subject, identity, request_id, **extra):
        if privacy.current_subject() == subject:   # this browser is the member's
            session.pop("uid", None)

(``privacy.use_flask_login()`` connects such a receiver for Flask-Login.) It is
sent in whatever context ran the request: a web request, the officer's page (then
the current subject is the officer, not the member) or the CLI (no request). A
receiver that raises is logged and skipped: the member has already left, and the
answer must say so.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace

from .redact import describe_exception

__all__ = ["member_withdrawn", "send_safely"]

_signals = Namespace()

member_withdrawn = _signals.signal(
    "member-withdrawn",
    doc="A member has left (withdrawal of everything, or a completed deletion request).",
)

log = logging.getLogger("flask_casenote_privacy.signals")


def send_safely(signal: Any, sender: Any, **kwargs: Any) -> None:
    """Call each receiver of ``signal`` for ``sender``; one that raises is logged (its
    exception's type and place, never its message, which may quote personal data)
    and the others still run."""
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **kwargs)
        except Exception as exc:
            log.error("a receiver of %s failed (%s); what it was sent for stands", signal.name, describe_exception(exc))
