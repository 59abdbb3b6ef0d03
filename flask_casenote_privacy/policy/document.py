"""A stored text of the policy back into a :class:`Policy`.

Every version is kept as its JSON (``Policy.to_dict()``); to show an old version's
page, the JSON is turned back into the shape of a policy file and read by the same
reader as a file, so an old version is checked exactly like a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import PolicyError
from .loader import UNTIL_WITHDRAWAL, _Reader
from .model import Policy

__all__ = ["policy_from_document"]

# Keys of the JSON that restate another key (not in a policy file).
_DERIVED = {"purposes": {"requires_consent"}, "retention": {"until_withdrawal"}}
_RENAMED = {"purposes": {"honours_gpc": "gpc"}}


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _file_shape(document: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, list) and key in ("purposes", "retention"):
            entries = []
            for entry in value:
                entry = {_RENAMED.get(key, {}).get(k, k): v for k, v in entry.items() if k not in _DERIVED[key]}
                if key == "retention" and entry.get("period") is None:
                    entry["period"] = UNTIL_WITHDRAWAL
                entries.append(entry)
            value = entries
        data[key] = value
    if isinstance(data.get("cookies"), dict) and "text" not in data["cookies"]:
        data["cookies"] = {"text": data["cookies"]}
    shaped: dict[str, Any] = _without_none(data)
    return shaped


def policy_from_document(document: Mapping[str, Any], source: str = "<stored version>") -> Policy:
    """The :class:`Policy` of a stored JSON document; :class:`PolicyError` if this
    release cannot read it."""
    reader = _Reader(_file_shape(document))
    reader.stored = True  # recorded under an earlier release: mandatory sections may be missing
    policy = reader.policy(source)
    if policy is None or reader.problems:
        raise PolicyError(source, reader.problems or ["not a policy document"])
    return policy
