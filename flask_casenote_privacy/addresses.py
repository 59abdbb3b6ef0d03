"""Comparing email addresses in Python, never by a database's collation.

A host database whose collation ignores case and accents (MariaDB's default) finds
``victim@exämple.com`` when asked for ``victim@example.com``. Candidates found by
the database are therefore confirmed here: the stored and the typed address must
have the same normal form (Unicode NFC; the local part as written; the domain
case-folded and IDNA-encoded), and mail always goes to the stored address.
"""

from __future__ import annotations

import unicodedata

__all__ = ["normal_address", "same_address"]


def normal_address(address: str) -> str | None:
    """The comparable form of ``address``, or ``None`` if it is not one."""
    text = unicodedata.normalize("NFC", address.strip())
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    try:
        # Python's IDNA codec (IDNA 2003, nameprep) also folds case and width.
        ascii_domain = domain.casefold().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{local}@{ascii_domain}"


def same_address(stored: str, typed: str) -> bool:
    """Whether ``typed`` names the mailbox ``stored`` (see the module docstring)."""
    a, b = normal_address(stored), normal_address(typed)
    return a is not None and a == b
