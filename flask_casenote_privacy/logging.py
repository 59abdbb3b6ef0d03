"""structlog processors that make log events follow the privacy policy: tag each
event with its retention class, drop fields the consent does not allow, redact
personal data. The host adds them to its own chain (docs/logging.md). For the
host's standard-library handlers, :class:`RedactingFilter` does the redaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import current_app, has_app_context
from structlog.typing import EventDict, Processor, WrappedLogger

from .capture.decision import FIELD_ITEMS, current_request_privacy, default_allowed_items
from .redact import PRE_REDACTED, redact_text, redact_value

__all__ = ["RedactingFilter", "add_retention", "drop_unconsented", "processors", "redact_personal_data"]

FIELD_ITEMS_CONFIG = "PRIVACY_LOG_FIELD_ITEMS"


def add_retention(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Tag an event logged during a request with ``retention`` (the class id),
    ``retention_until`` (ISO-8601 with the policy zone's offset, ``None`` for a
    class kept until withdrawal) and ``purposes`` (the sorted active purposes).

    A ``retention`` set by the caller wins, and then ``retention_until`` is the
    caller's too. Outside a captured request the event is unchanged.
    """
    if "retention" in event_dict and "purposes" in event_dict:
        return event_dict  # already tagged (the access event): nothing to add
    privacy = current_request_privacy()
    if privacy is None:
        return event_dict
    if "retention" not in event_dict:
        event_dict["retention"] = privacy.retention
        until = privacy.retention_until
        event_dict["retention_until"] = None if until is None else until.isoformat()
    if "purposes" not in event_dict:
        event_dict["purposes"] = list(privacy.purposes_sorted())
    return event_dict


def _field_items() -> Mapping[str, str]:
    """Outside a request: the extension's mapping (FIELD_ITEMS + the config)."""
    if not has_app_context():
        return FIELD_ITEMS
    items = getattr(getattr(current_app.extensions.get("privacy"), "services", None), "field_items", None)
    if isinstance(items, Mapping):
        return items
    extra = current_app.config.get(FIELD_ITEMS_CONFIG)
    return {**FIELD_ITEMS, **extra} if isinstance(extra, Mapping) and extra else FIELD_ITEMS


def drop_unconsented(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Drop top-level fields whose item the current consent does not allow.

    In a captured request, the request's decisions say
    (:meth:`RequestPrivacy.allows_field`). Anywhere else no consent is known, so
    it fails closed: only items of purposes that need no consent are kept
    (``ip`` stays, ``user_agent`` goes). With no app, or an app without the
    extension, nothing is known at all and every mapped field is dropped. Fields
    not mapped to an item (``event``, ids, counters) are always kept.
    """
    privacy = current_request_privacy()
    if privacy is not None:
        unconsented = privacy.unconsented_fields()
        if not unconsented.isdisjoint(event_dict):
            for name in unconsented.intersection(event_dict):
                del event_dict[name]
        return event_dict
    field_items = _field_items()
    allowed = default_allowed_items() or frozenset()
    for name in [name for name in event_dict if name in field_items and field_items[name] not in allowed]:
        del event_dict[name]
    return event_dict


def redact_personal_data(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Redact emails (``[email]``), Luhn-valid card numbers (``[card]``),
    resident registration numbers (``[rrn]``) and Korean phone numbers
    (``[phone]``) in every string value, nested ones too, also when
    percent-encoded; and escape control characters and line separators
    (``"\\n"``), so that every renderer writes one line per event.

    Keys are left as they are; IP addresses are not redacted (they are the
    legal access log; :func:`drop_unconsented` decides whether they stay).
    The fields of capture's own ``http.access`` event that it computed or
    redacted itself are not visited twice (:data:`~.redact.PRE_REDACTED`).
    """
    done = PRE_REDACTED.get()
    for key, value in event_dict.items():
        if done is not None and done.get(key, _MISSING) is value:
            continue  # capture's own field, computed or redacted when the event was built
        if isinstance(value, str):
            event_dict[key] = redact_text(value)
        elif isinstance(value, (dict, list, tuple, set, frozenset)):
            event_dict[key] = redact_value(value)
    return event_dict


_MISSING = object()


def processors() -> list[Processor]:
    """The recommended chain, in order: put it before the renderer.

    >>> structlog.configure(processors=[..., *processors(), JSONRenderer()])
    """
    return [add_retention, drop_unconsented, redact_personal_data]


# What every LogRecord has; any other attribute came with ``extra=`` and is the caller's data.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _redact_lines(text: str) -> str:
    """A traceback keeps its lines; each is redacted and escaped on its own."""
    return "\n".join(redact_text(line) for line in text.split("\n"))


class RedactingFilter(logging.Filter):
    """A standard-library :class:`logging.Filter` that redacts what
    :func:`redact_personal_data` redacts, for handlers structlog does not reach
    (a host's own file handler, gunicorn's, a library's).

    Put it on the *handlers* (a logger's filter misses the records of its child
    loggers): ``handler.addFilter(RedactingFilter())``, or the ``dictConfig``
    recipe of docs/logging.md. It changes the record in place and always lets it
    through:

    - the message is %-formatted with its arguments first, then redacted and its
      control characters escaped (one line per record); when that changes it, the
      result becomes ``msg`` and ``args`` is emptied (``()``), so no formatter puts a raw
      argument back, and a ``%`` in the text is never read as a placeholder;
    - a traceback (``exc_info``) and ``stack_info`` are rendered and redacted
      line by line; the exception object is dropped from the record, so that no
      formatter renders it again unredacted;
    - fields passed with ``extra=`` are redacted like structlog values (nested
      ones too).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            misfit = False
        except Exception:  # arguments that do not fit: logging's own error report would print them raw
            message = f"{record.msg!s} (arguments that do not fit the message: {record.args!r})"
            misfit = True
        redacted = redact_text(message)
        if redacted != message or misfit:
            record.msg, record.args = redacted, ()
        if "message" in vars(record):  # set by a formatter of an earlier handler
            record.message = redacted
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = _redact_lines(record.exc_text)
        if record.stack_info:
            record.stack_info = _redact_lines(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, (str, dict, list, tuple, set, frozenset)):
                setattr(record, name, redact_value(value))
        return True
