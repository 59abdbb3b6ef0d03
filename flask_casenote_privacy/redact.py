"""Find personal data in text and redact it: emails, card numbers, resident
registration numbers and Korean phone numbers, also when percent-encoded; and
escape control characters so that a log value can never start a new line."""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

__all__ = ["PRE_REDACTED", "describe_exception", "escape_controls", "redact_text", "redact_value"]

PRE_REDACTED: ContextVar[Mapping[str, object] | None] = ContextVar("privacy_pre_redacted", default=None)
"""While capture logs its ``http.access`` event: the event's fields that it computed
itself or already redacted, name -> the very object passed. The logging processor
skips a field only while it still holds that same object (``is``), so whatever a
host's processor, a bound logger or a context variable put there is redacted."""

# C0 and C1 controls, DEL, the Unicode line/paragraph separators, and the bidi
# overrides that make a terminal show text in another order than it is stored.
_CONTROL_CLASS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
_NAMED_ESCAPES = MappingProxyType({"\n": "\\n", "\r": "\\r", "\t": "\\t"})

# The shortest thing redacted by digits is a Seoul number, 02-123-4567: nine
# digits with at most two separators between two of them ('+' is a space in a
# form-encoded query; "(02) 123-4567" has two). _NINE_CHARS is a cheaper superset
# of _LONG_DIGITS; ISO timestamps pass it, and are recognised whole (their
# fraction may look like 021234567).
_LONG_DIGITS = re.compile("[0-9](?:[ +\\-.()]{0,2}[0-9]){8}")
_NINE_CHARS = re.compile("[0-9][0-9 +\\-.()]{8}")
# Full-width digits (０-９) are read as the digits they are.
_WIDE_DIGIT = re.compile("[\uff10-\uff19]")
_WIDE_TO_ASCII = {0xFF10 + n: 0x30 + n for n in range(10)}
_ISO_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+\-][0-9]{2}:?[0-9]{2})?"
)

# 주민등록번호: YYMMDD-GNNNNNN; G (1-8) gives sex and century, the date is checked.
_RRN = re.compile(r"(?<![0-9])([0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[-. ]?([1-8])[0-9]{6}(?![0-9])")
# A maximal run of 13+ digits with single spaces or dashes; the card inside is
# found by _card (a run may hold a card and a neighbouring number).
_DIGITS_13 = re.compile(r"(?<![0-9])[0-9](?:[ \-.]?[0-9]){12,}(?![0-9])")
_SEPARATOR = re.compile(r"([ \-.])")
# Mobile 01X, Seoul 02, regions 031-064, 070 (VoIP), 080 (toll free); +82 drops the 0.
_PHONE = re.compile(
    r"(?<![0-9+])(?:(?:\+82[ \-.]?(?:\(0\)[ \-]?)?0?|0)(?:1[016789]|2|[3-6][1-5]|[78]0)|"
    r"\(0(?:1[016789]|2|[3-6][1-5]|[78]0)\))"
    r"[ \-.]?[0-9]{3,4}[ \-.]?[0-9]{4}(?![0-9])"
)
# Local parts stop at the URL delimiters / ? = & (so "?email=kim@example.com"
# keeps "?email="); an address whose local part ends in one is still caught by
# its '@' and domain. Bounded, so that a long line with an '@' stays linear.
# Retina asset names (logo@2x.png) in access-log paths are not addresses.
# Local parts and domains may be in any script (홍길동@example.com, kim@카카오.한국).
_EMAIL = re.compile(
    r"[\w!#$%'*+\-^`{|}~.]{0,64}@"
    r"(?![0-9]x\.(?:png|jpe?g|gif|webp|avif|svg)(?![\w.\-]))"
    r"(?:[\w\-]{1,63}\.)+[\w\-]{1,63}"
)
_MAX_DECODE = 3  # %2540 -> %40 -> @: undo double (and triple) encoding
_MAX_DEPTH = 32
# Short strings known to need nothing are remembered (_check_clean): log events
# repeat most of their values (event names, methods, paths, addresses, purposes),
# and a cache hit is far cheaper than the checks.
_CLEAN_MAX_ENTRIES = 2048
_CLEAN_MAX_LENGTH = 128


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position & 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    # Issuer numbers start with 2-9; leading 0 or 1 are ids and millisecond
    # timestamps (13 digits, 1...) that pass Luhn one time in ten.
    return 13 <= len(digits) <= 19 and digits[0] not in "01" and _luhn(digits)


def _card(match: re.Match[str]) -> str:
    run = match.group()
    parts = _SEPARATOR.split(run)
    groups, separators = parts[0::2], parts[1::2]
    if len(groups) == 1:  # one unbroken number: a card or an id, never part of either
        return "[card]" if _is_card(run) else run
    out: list[str] = []
    start = 0
    while start < len(groups):
        end, size, found = start, 0, -1
        while end < len(groups) and size + len(groups[end]) <= 19:
            size += len(groups[end])
            if size >= 13 and _is_card("".join(groups[start : end + 1])):
                found = end
            end += 1
        last = start if found < 0 else found
        out.append(groups[start] if found < 0 else "[card]")
        if last + 1 < len(groups):
            out.append(separators[last])
        start = last + 1
    return "".join(out)


def _rrn(match: re.Match[str]) -> str:
    century = 1900 if match[4] in "1256" else 2000
    try:
        date(century + int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return match.group()
    return "[rrn]"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """Replace control characters and line separators with visible escapes (``\\n``)."""
    return _CONTROL.sub(_escape, text)


def _redact_plain(text: str) -> str:
    if _LONG_DIGITS.search(text):
        text = _RRN.sub(_rrn, text)
        text = _DIGITS_13.sub(_card, text)
        text = _PHONE.sub("[phone]", text)
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    return text


def _unquote_all(text: str) -> str:
    for _ in range(_MAX_DECODE):
        if "%" not in text:
            break
        step = unquote(text, errors="replace")
        if step == text:
            break
        text = step
    return text


def _redact_decoded(text: str, decoded: str) -> str:
    if decoded == text:
        return text
    redacted = _redact_plain(decoded)
    return text if redacted == decoded else redacted


def _redact_encoded(text: str) -> str:
    """Check the percent-decoded form, then the form-decoded one ('+' is a
    space). Where one hides personal data, its redacted form replaces the value:
    positions in the encoded text cannot be mapped back."""
    if "%" in text:
        text = _redact_decoded(text, _unquote_all(text))
    if "+" in text:
        text = _redact_decoded(text, _unquote_all(text.replace("+", " ")))
    return text


def _needs_nothing(text: str) -> bool:
    """Whether ``text`` has nothing to redact or escape. Most values (paths, IPs,
    timestamps, user agents, ids) are answered by a few C-level scans;
    isprintable() is False for every character of _CONTROL_CLASS."""
    return (
        "@" not in text
        and "%" not in text
        and text.isprintable()
        and (text.isascii() or _WIDE_DIGIT.search(text) is None)
        and (
            _NINE_CHARS.search(text) is None
            or _ISO_TIMESTAMP.fullmatch(text) is not None
            or _LONG_DIGITS.search(text) is None
        )
    )


class _NeedsWork(Exception):
    """Raised by :func:`_check_clean` for a string that is not clean."""


@functools.lru_cache(maxsize=_CLEAN_MAX_ENTRIES)
def _check_clean(text: str) -> None:
    """Returns if ``text`` needs nothing, and lru_cache remembers it; raises
    otherwise, and lru_cache keeps nothing: personal data never stays in it."""
    if not _needs_nothing(text):
        raise _NeedsWork


def redact_text(text: str) -> str:
    """Redact personal data in ``text`` and escape its control characters.

    >>> redact_text("kim@example.com paid with 4111 1111 1111 1111\\n")
    '[email] paid with [card]\\\\n'
    """
    size = len(text)
    if size <= _CLEAN_MAX_LENGTH and type(text) is str:
        if 16 <= size <= 40 and text[4] == "-" and _ISO_TIMESTAMP.fullmatch(text) is not None:
            return text  # needs nothing (digits and -T:.+Z); each is new, so not cached
        try:
            _check_clean(text)
        except _NeedsWork:
            pass
        else:
            return text
    elif _needs_nothing(text):
        return text
    if not text.isascii() and _WIDE_DIGIT.search(text):
        wide = text.translate(_WIDE_TO_ASCII)
        redacted = _redact_plain(wide)
        text = text if redacted == wide else redacted  # nothing found: keep it as written
    else:
        text = _redact_plain(text)
    if "%" in text or "+" in text:
        text = _redact_encoded(text)
    return escape_controls(text)


def redact_value(value: Any, _depth: int = 0) -> Any:
    """``redact_text`` on every string in ``value``, through dicts (values, not
    keys), lists, tuples and sets. Containers are copied only when changed."""
    if isinstance(value, str):
        return redact_text(value)
    if not isinstance(value, (dict, list, tuple, set, frozenset)):
        return value
    if _depth >= _MAX_DEPTH:  # deep or cyclic: keep its redacted text, not the object
        return redact_text(repr(value))
    depth = _depth + 1
    if isinstance(value, dict):
        new = {key: redact_value(item, depth) for key, item in value.items()}
        changed = any(new[key] is not item for key, item in value.items())
        return new if changed else value
    items: list[Any] | None = None
    for index, item in enumerate(value):
        new_item = redact_text(item) if isinstance(item, str) else redact_value(item, depth)
        if new_item is not item:
            if items is None:
                items = list(value)
            items[index] = new_item
    if items is None:
        return value
    if isinstance(value, tuple):
        make = getattr(value, "_make", None)  # a namedtuple keeps its type
        return make(items) if make is not None else tuple(items)
    if isinstance(value, list):
        return items
    return frozenset(items) if isinstance(value, frozenset) else set(items)


def describe_exception(exc: BaseException) -> str:
    """An exception's type and the line that raised it, for a log line about a failure
    in the host's code: never its message, which may quote personal data (a row's
    values in a database error, an address)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__module__}.{type(exc).__qualname__}{place}"
